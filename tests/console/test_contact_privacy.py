"""A worker's phone number, typed in the report form: kept in one place, out of
a referral unless the worker agreed to sharing, and gone when their data is
erased.

Driven as the hotline is: the worker writes in the web chat, the engine files
the report through the action endpoint, staff export and erase through the
console's API.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.settings import Settings
from api.staff.models import Role
from tests.console.helpers import add_staff, as_staff
from tests.test_report_actions import ANSWERS, call, run, worker


def test_staff_following_a_report_up_read_how_to_reach_the_worker(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-follow-up")
    run(client, call("action_submit_report", sender, slots={**ANSWERS, "report_consent": "no"}))
    add_staff(client, "agent", Role.AGENT)
    as_staff(client, "agent")
    # In the queue, where the worker's messages are shown as well.
    [waiting] = client.get("/api/handoff/queue").json()
    assert waiting["reason"] == "report_follow_up"
    assert waiting["case"]["contact"] == {"by": "chat"}
    assert "contact" not in waiting["case"]["answers"]
