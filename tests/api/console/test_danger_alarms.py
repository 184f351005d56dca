"""Supervisors review danger alarms: what raised each one and what the worker
said; agents cannot; the worker's words are escaped and the reading audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.staff.models import AuditEntry, Role
from tests.fakes.line_api import FakeLine
from tests.support import eventually, rows
from tests.support.console import add_staff, as_staff, state_of, worker_writes


def test_a_supervisor_sees_each_alarm_with_what_raised_it(
    client: TestClient, line_api: FakeLine
) -> None:
    words = "help me <b>now</b> they are beating me"
    worker_writes(client, line_api, "U-alarm-review", words)
    database = state_of(client).settings.hotline_database_url
    eventually(lambda: bool(rows(database, "SELECT id FROM danger_alarms")))
    add_staff(client, "sup-alarms", Role.SUPERVISOR)
    add_staff(client, "agent-alarms", Role.AGENT)

    as_staff(client, "agent-alarms")
    assert client.get("/api/danger-alarms").status_code == 403
    assert client.get("/console/alarms").status_code == 403

    as_staff(client, "sup-alarms")
    [alarm] = client.get("/api/danger-alarms").json()
    assert (alarm["level"], alarm["signal"], alarm["channel"]) == ("danger", "words", "line")
    assert alarm["text"] == words and alarm["language"] == "en"
    page = client.get("/console/alarms")
    assert page.status_code == 200
    # The worker's words are shown as words, never as markup.
    assert "&lt;b&gt;now&lt;/b&gt;" in page.text and "<b>now</b>" not in page.text
    assert "danger words" in page.text
    assert f'href="/console/conversations/{alarm["conversation_id"]}"' in page.text

    async def audited() -> list[AuditEntry]:
        async with state_of(client).sessions() as session:
            query = select(AuditEntry).where(AuditEntry.action == "danger_alarms.list")
            return list((await session.execute(query)).scalars())

    entries = client.portal.call(audited)
    assert len(entries) == 2
    assert all("beating" not in str(entry.detail) for entry in entries)
