"""Retention deletes exactly what has been kept long enough; deletion requests
remove a worker's messages, files and contact details and leave only a trace
that they happened."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.state import AppState
from bot.cases.models import Case, CaseStatus
from bot.conversations import service as conversations
from bot.conversations.models import Worker
from bot.privacy import queries as privacy
from bot.staff.models import Staff
from core.clock import utcnow
from core.database import sync_url
from core.settings import Settings
from tests.fakes.line_api import FakeLine, event, sign, text_event, webhook_body
from tests.support import TEST_VAULT, eventually, execute, stored_conversation, stored_messages


def _post(client: TestClient, *events: dict[str, Any]) -> None:
    body = webhook_body(*events)
    response = client.post(
        "/webhooks/line",
        content=body,
        headers={"content-type": "application/json", "x-line-signature": sign(body)},
    )
    assert response.status_code == 200


def _photo(user: str, message_id: str) -> dict[str, Any]:
    return event(
        "message",
        user,
        replyToken=f"rt-{message_id}",
        message={
            "type": "image",
            "id": message_id,
            "quoteToken": "q",
            "contentProvider": {"type": "line"},
        },
    )


def _worker_writes(client: TestClient, line_api: FakeLine, user: str, photo: bytes) -> None:
    """A worker sends a text and a photo through the LINE webhook, and both are answered."""
    line_api.contents[f"photo-{user}"] = (photo, "image/jpeg")
    _post(client, text_event(user, "my boss keeps my passport"))
    _post(client, _photo(user, f"photo-{user}"))
    eventually(lambda: sum(m["status"] == "sent" for m in stored_messages(_url(client), user)) >= 2)


def _url(client: TestClient) -> str:
    return _state(client).settings.hotline_database_url


def _state(client: TestClient) -> AppState:
    state: AppState = client.app.state.hotline  # type: ignore[attr-defined]
    return state


def _sql(settings: Settings, statement: str, **params: Any) -> list[Any]:
    engine = create_engine(sync_url(settings.hotline_database_url))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def _age(settings: Settings, user: str, days: int) -> None:
    """Move a worker's whole conversation `days` into the past."""
    then = utcnow() - timedelta(days=days)
    conversation_id = stored_conversation(settings.hotline_database_url, user)["id"]
    _sql(
        settings,
        "UPDATE messages SET created_at = :then WHERE conversation_id = :id",
        then=then,
        id=conversation_id,
    )
    _sql(
        settings,
        "UPDATE conversations SET created_at = :then WHERE id = :id",
        then=then,
        id=conversation_id,
    )


def _open_case(client: TestClient, user: str, **fields: Any) -> int:
    """A case as the report form files it (test data written through the ORM)."""

    async def add() -> int:
        async with _state(client).sessions.begin() as session:
            worker = await conversations.get_or_create_worker(
                session=session, channel="line", channel_user_id=user
            )
            conversation = await conversations.current_conversation(session=session, worker=worker)
            case = Case(
                worker_id=worker.id,
                conversation_id=conversation.id,
                kind="document_confiscation",
                answers={"what": "passport kept"},
                contact={"by": "phone", "phone": "0812345678"},
                language="en",
                channel="line",
                **fields,
            )
            session.add(case)
            await session.flush()
            return case.id

    return client.portal.call(add)


def _files(settings: Settings) -> set[str]:
    root = settings.hotline_attachments_dir
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def test_retention_deletes_exactly_the_idle_conversations_no_case_needs(
    client: TestClient, line_api: FakeLine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    _worker_writes(client, line_api, "U-idle", b"photo only the idle worker sent")
    _worker_writes(client, line_api, "U-recent", b"photo of the recent worker")
    _worker_writes(client, line_api, "U-reported", b"photo kept as evidence")
    _worker_writes(client, line_api, "U-shared", b"photo of the recent worker")
    _open_case(client, "U-reported")
    for user in ("U-idle", "U-reported", "U-shared"):
        _age(settings, user, days=settings.hotline_retention_conversation_days + 1)
    files_before = _files(settings)
    assert len(files_before) == 3  # the same photo twice is kept once

    with caplog.at_level(logging.INFO, logger="bot.privacy.service"):
        removed = client.portal.call(_state(client).keeping.run_retention)

    assert removed.counts() == {
        "workers": 2,
        "conversations": 2,
        "messages": 8,  # per worker: text, photo, and the two answers
        "attachments": 2,
        "cases": 0,
    }
    for user in ("U-idle", "U-shared"):
        assert stored_messages(settings.hotline_database_url, user) == []
    for user in ("U-recent", "U-reported"):
        assert len(stored_messages(settings.hotline_database_url, user)) == 4
    workers = {row[0] for row in _sql(settings, "SELECT channel_user_id FROM workers")}
    assert workers == {"U-recent", "U-reported"}
    # The idle worker's own photo is gone; the shared one stays for the
    # recent worker who sent the same bytes.
    assert len(_files(settings)) == 2
    assert _files(settings) < files_before
    [audit] = _sql(settings, "SELECT action, staff_id, detail FROM audit_log")
    assert audit.action == "retention_run" and audit.staff_id is None
    assert "retention removed" in caplog.text and "'conversations': 2" in caplog.text


def test_closed_cases_go_after_their_longer_period_with_their_conversation(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    _worker_writes(client, line_api, "U-closed-long-ago", b"old evidence")
    _worker_writes(client, line_api, "U-closed-lately", b"new evidence")
    _worker_writes(client, line_api, "U-open", b"open evidence")
    long_ago = utcnow() - timedelta(days=settings.hotline_retention_closed_case_days + 1)
    _open_case(client, "U-closed-long-ago", status=CaseStatus.CLOSED.value, closed_at=long_ago)
    _open_case(client, "U-closed-lately", status=CaseStatus.CLOSED.value, closed_at=utcnow())
    _open_case(client, "U-open")
    for user in ("U-closed-long-ago", "U-closed-lately", "U-open"):
        _age(settings, user, days=settings.hotline_retention_closed_case_days + 10)

    removed = client.portal.call(_state(client).keeping.run_retention)

    assert removed.cases == 1 and removed.conversations == 1 and removed.workers == 1
    assert stored_messages(settings.hotline_database_url, "U-closed-long-ago") == []
    assert len(stored_messages(settings.hotline_database_url, "U-closed-lately")) == 4
    assert len(stored_messages(settings.hotline_database_url, "U-open")) == 4
    assert len(_sql(settings, "SELECT id FROM cases")) == 2


def test_conversations_with_staff_are_never_removed_under_them(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    _worker_writes(client, line_api, "U-waiting", b"waiting photo")
    _sql(settings, "UPDATE conversations SET owner = 'queued'")
    _age(settings, "U-waiting", days=settings.hotline_retention_conversation_days + 1)

    removed = client.portal.call(_state(client).keeping.run_retention)

    assert removed.conversations == 0
    assert len(stored_messages(settings.hotline_database_url, "U-waiting")) == 4


def test_a_confirmed_deletion_request_removes_the_worker_and_keeps_only_that_it_happened(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    state = _state(client)
    _worker_writes(client, line_api, "U-forget-me", b"photo to forget")
    _worker_writes(client, line_api, "U-stays", b"photo that stays")
    case_id = _open_case(client, "U-forget-me", province="Samut Sakhon")

    async def ask_and_add_staff() -> tuple[int, int]:
        async with state.sessions.begin() as session:
            worker = await conversations.get_or_create_worker(
                session=session, channel="line", channel_user_id="U-forget-me"
            )
            first = await privacy.request_deletion(session=session, worker=worker)
            again = await privacy.request_deletion(session=session, worker=worker)
            assert again.id == first.id  # asking twice makes one request
            staff = Staff(username="sup", display_name="Sup", role="supervisor", password_hash="x")
            session.add(staff)
            await session.flush()
            return first.id, staff.id

    request_id, staff_id = client.portal.call(ask_and_add_staff)
    # What the engine remembers of each worker's conversation (written by the
    # engine; here it is down, as it may be when staff confirm).
    for user in ("U-forget-me", "U-stays"):
        public_id = stored_conversation(settings.hotline_database_url, user)["public_id"]
        execute(
            settings.hotline_database_url,
            "INSERT INTO engine_trackers (sender_id, tracker, updated_at) "
            "VALUES (:id, :tracker, '2026-12-07 10:00:00')",
            id=public_id,
            tracker=TEST_VAULT.encrypt_text(f'{{"events": ["{user} said"]}}'),
        )
    _, removed = client.portal.call(
        lambda: state.keeping.decide_deletion(
            request_id=request_id, staff_id=staff_id, confirm=True
        )
    )

    assert removed.workers == 1 and removed.messages == 4 and removed.attachments == 1
    assert stored_messages(settings.hotline_database_url, "U-forget-me") == []
    assert len(stored_messages(settings.hotline_database_url, "U-stays")) == 4
    assert _sql(settings, "SELECT id FROM workers WHERE channel_user_id = 'U-forget-me'") == []
    assert len(_files(settings)) == 1
    # The engine's memory of the worker went with the rows, the other's stays.
    trackers = [
        TEST_VAULT.decrypt_text(t) for (t,) in _sql(settings, "SELECT tracker FROM engine_trackers")
    ]
    assert trackers == ['{"events": ["U-stays said"]}']
    # The report stays, anonymous: no contact details, no way back to the worker.
    [case] = _sql(
        settings, "SELECT worker_id, conversation_id, contact FROM cases WHERE id = :id", id=case_id
    )
    assert case.worker_id is None and case.conversation_id is None and case.contact is None
    [done] = _sql(settings, "SELECT status, worker_id, decided_by FROM deletion_requests")
    assert (done.status, done.worker_id, done.decided_by) == ("done", None, staff_id)
    [audit] = _sql(settings, "SELECT action, object_id, detail FROM audit_log")
    assert audit.action == "worker_data_deleted" and audit.object_id == str(request_id)
    assert "U-forget-me" not in str(audit.detail) and "passport" not in str(audit.detail)


def test_a_decided_request_cannot_be_decided_again(client: TestClient) -> None:
    state = _state(client)

    async def ask() -> tuple[int, int]:
        async with state.sessions.begin() as session:
            worker = Worker(channel="line", channel_user_id="U-twice")
            session.add(worker)
            await session.flush()
            request = await privacy.request_deletion(session=session, worker=worker)
            staff = Staff(username="s2", display_name="S", role="supervisor", password_hash="x")
            session.add(staff)
            await session.flush()
            return request.id, staff.id

    request_id, staff_id = client.portal.call(ask)
    client.portal.call(
        lambda: state.keeping.decide_deletion(
            request_id=request_id, staff_id=staff_id, confirm=False
        )
    )
    with pytest.raises(privacy.DeletionAlreadyDecided):
        client.portal.call(
            lambda: state.keeping.decide_deletion(
                request_id=request_id, staff_id=staff_id, confirm=True
            )
        )
    [row] = _sql(state.settings, "SELECT status, worker_id FROM deletion_requests")
    assert row.status == "declined" and row.worker_id is not None
