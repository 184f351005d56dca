"""Staff accounts and sign-ins for console tests, made through the real services."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from api.state import AppState
from bot.cases import queries as cases
from bot.cases.indicators import ForcedLabourIndicators
from bot.cases.models import Case
from bot.conversations.models import Attachment, Conversation, Message, Worker
from bot.staff.models import AuditEntry, Role, Staff
from tests.fakes.line_api import FakeLine, event, sign, text_event, webhook_body
from tests.support import eventually, stored_from_inbox

PASSWORD = "correct horse battery"


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.hotline  # type: ignore[attr-defined]
    return state


def add_staff(client: TestClient, username: str, role: Role, password: str = PASSWORD) -> int:
    async def add() -> int:
        staff = await state_of(client).accounts.create_staff(
            username=username,
            display_name=username.title(),
            role=role,
            password=password,
        )
        return staff.id

    return client.portal.call(add)


def staff_id_of(client: TestClient, username: str) -> int:
    async def read() -> int:
        async with state_of(client).sessions() as session:
            found = await session.scalar(select(Staff.id).where(Staff.username == username))
            assert found is not None
            return int(found)

    return client.portal.call(read)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Post the login form as a browser would; returns the response (not followed)."""
    page = client.get("/console/login")
    assert page.status_code == 200
    return client.post(
        "/console/login",
        data={
            "username": username,
            "password": password,
            "login_token": hidden(page.text, "login_token"),
            "next": "/console/cases",
        },
        follow_redirects=False,
    )


def csrf_of(client: TestClient) -> str:
    """The CSRF token of the signed-in session, as the console's pages carry it."""
    token: str = client.get("/api/me").json()["csrf_token"]
    return token


def as_staff(client: TestClient, username: str) -> TestClient:
    """Switch the client's browser to another staff member's sign-in."""
    client.cookies.clear()
    assert sign_in(client, username).status_code == 303
    return client


def png(width: int = 40, height: int = 30) -> bytes:
    """A real (small) PNG, so a browser can draw it."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def worker_writes(
    client: TestClient, line_api: FakeLine, user: str, *texts: str, photo: bytes | None = None
) -> None:
    """A worker writes on LINE, through the signed webhook, as LINE would deliver it."""
    events = [text_event(user, text) for text in texts]
    if photo is not None:
        message_id = f"photo-{uuid.uuid4().hex[:8]}"
        line_api.contents[message_id] = (photo, "image/png")
        events.append(
            event(
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
        )
    for one in events:
        body = webhook_body(one)
        response = client.post(
            "/webhooks/line",
            content=body,
            headers={"content-type": "application/json", "x-line-signature": sign(body)},
        )
        assert response.status_code == 200
    stored_from_inbox(client)
    if photo is not None:
        eventually(lambda: _attachment_count(client, user) > 0)


def _attachment_count(client: TestClient, user: str) -> int:
    async def count() -> int:
        async with state_of(client).sessions() as session:
            result = await session.execute(
                select(func.count())
                .select_from(Attachment)
                .join(Message, Message.id == Attachment.message_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(Worker, Worker.id == Conversation.worker_id)
                .where(Worker.channel_user_id == user)
            )
            return int(result.scalar_one())

    return client.portal.call(count)


def open_report(
    client: TestClient,
    user: str,
    *,
    kind: str = "document_confiscation",
    answers: dict[str, Any] | None = None,
    language: str = "my",
    province: str | None = "Samut Sakhon",
    consent: bool = True,
    contact: dict[str, Any] | None = None,
) -> int:
    """A case from the worker's report, made by the hotline's own case service."""
    state = state_of(client)

    async def open_it() -> int:
        async with state.sessions() as session:
            conversation = (
                (
                    await session.execute(
                        select(Conversation)
                        .join(Worker, Worker.id == Conversation.worker_id)
                        .where(Worker.channel_user_id == user)
                        .order_by(Conversation.id.desc())
                    )
                )
                .scalars()
                .first()
            )
            assert conversation is not None, "the worker must write first"
            case = await cases.file_report(
                session=session,
                conversation=conversation,
                report=cases.Report(
                    kind=kind,
                    answers=answers or {"what": "they keep my passport"},
                    language=language,
                    province=province,
                    consent_to_share=consent,
                ),
                indicators=ForcedLabourIndicators(
                    state.settings.hotline_content_dir / "forced_labour_indicators.yml"
                ),
                prefix=state.settings.hotline_case_prefix,
            )
            if contact is not None:
                case.contact = contact
            await session.commit()
            return case.id

    return client.portal.call(open_it)


def assign(client: TestClient, case_id: int, staff_id: int) -> None:
    """Assign as the hotline's data would have it (a supervisor did it earlier)."""

    async def set_it() -> None:
        async with state_of(client).sessions() as session:
            case = await session.get(Case, case_id)
            assert case is not None
            case.assigned_to = staff_id
            await session.commit()

    client.portal.call(set_it)


def audit_actions(
    client: TestClient, action: str, object_id: str | None = None
) -> list[int | None]:
    """Staff ids of the audit entries with this action (and object id)."""

    async def read() -> list[int | None]:
        async with state_of(client).sessions() as session:
            query = select(AuditEntry.staff_id).where(AuditEntry.action == action)
            if object_id is not None:
                query = query.where(AuditEntry.object_id == object_id)
            return list((await session.execute(query.order_by(AuditEntry.id))).scalars())

    return client.portal.call(read)
