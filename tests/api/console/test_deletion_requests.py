"""Supervisors decide workers' deletion requests; agents cannot; nothing of the
worker's words reaches the page or the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.conversations import service as conversations
from bot.conversations.models import Message
from bot.privacy import queries as privacy
from bot.staff.models import AuditEntry, Role
from tests.fakes.line_api import FakeLine
from tests.support import stored_messages
from tests.support.console import add_staff, as_staff, csrf_of, state_of, worker_writes


def _request_deletion(client: TestClient, user: str) -> int:
    async def ask() -> int:
        async with state_of(client).sessions.begin() as session:
            worker = await conversations.get_or_create_worker(
                session=session, channel="line", channel_user_id=user
            )
            return (await privacy.request_deletion(session=session, worker=worker)).id

    return client.portal.call(ask)


def test_a_supervisor_sees_and_confirms_a_request_and_the_data_goes(
    client: TestClient, line_api: FakeLine
) -> None:
    worker_writes(client, line_api, "U-delete-me", "my secret words about my boss")
    request_id = _request_deletion(client, "U-delete-me")
    add_staff(client, "sup", Role.SUPERVISOR)
    add_staff(client, "agent", Role.AGENT)
    database = state_of(client).settings.hotline_database_url

    as_staff(client, "agent")
    assert client.get("/api/deletion-requests").status_code == 403
    refused = client.post(
        f"/api/deletion-requests/{request_id}/confirm", headers={"X-CSRF-Token": csrf_of(client)}
    )
    assert refused.status_code == 403
    assert stored_messages(database, "U-delete-me") != []

    as_staff(client, "sup")
    [listed] = client.get("/api/deletion-requests").json()
    assert listed["id"] == request_id and listed["messages"] >= 1 and listed["open_cases"] == 0
    page = client.get("/console/deletions")
    assert page.status_code == 200
    assert "secret words" not in page.text and "U-delete-me" not in page.text
    without_csrf = client.post(f"/api/deletion-requests/{request_id}/confirm")
    assert without_csrf.status_code == 403

    decided = client.post(
        f"/console/deletions/{request_id}/confirm",
        data={"csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    assert stored_messages(database, "U-delete-me") == []
    assert client.get("/api/deletion-requests").json() == []
    again = client.post(
        f"/api/deletion-requests/{request_id}/confirm", headers={"X-CSRF-Token": csrf_of(client)}
    )
    assert again.status_code == 409

    async def audit_and_messages() -> tuple[list[AuditEntry], int]:
        async with state_of(client).sessions() as session:
            entries = list(
                (
                    await session.execute(
                        select(AuditEntry).where(AuditEntry.action == "worker_data_deleted")
                    )
                ).scalars()
            )
            count = (await session.execute(select(func.count(Message.id)))).scalar_one()
            return entries, count

    [entry], remaining = client.portal.call(audit_and_messages)
    assert entry.object_id == str(request_id)
    assert "secret" not in str(entry.detail) and "U-delete-me" not in str(entry.detail)
    assert remaining == 0


def test_declining_keeps_the_data(client: TestClient, line_api: FakeLine) -> None:
    worker_writes(client, line_api, "U-keep", "please keep helping me")
    request_id = _request_deletion(client, "U-keep")
    add_staff(client, "sup2", Role.SUPERVISOR)
    as_staff(client, "sup2")
    answer = client.post(
        f"/api/deletion-requests/{request_id}/decline", headers={"X-CSRF-Token": csrf_of(client)}
    )
    assert answer.status_code == 200 and answer.json()["status"] == "declined"
    database = state_of(client).settings.hotline_database_url
    assert stored_messages(database, "U-keep") != []
    missing = client.post(
        "/api/deletion-requests/999999/confirm", headers={"X-CSRF-Token": csrf_of(client)}
    )
    assert missing.status_code == 404
