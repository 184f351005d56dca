"""The endpoints the engine calls: NLG (responses) and custom actions.

Both act on workers' conversations, so they demand the shared engine token:
the app is reachable from the internet for the channel webhooks, and nobody
but the engine may drive these.
"""

from __future__ import annotations

import hmac
import logging
import re
from datetime import date
from typing import Annotated, Any

from babel.dates import format_date
from fastapi import APIRouter, Body, Depends, Header, HTTPException, status
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)
from sqlalchemy.exc import SQLAlchemyError

from api.state import AppState, StateDep
from bot.conversations import service
from bot.responses import UnknownResponse

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Hotline-Engine-Token"  # noqa: S105 (a header name, not a secret)


async def require_engine_token(
    state: StateDep,
    token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None,
) -> None:
    expected = state.settings.hotline_engine_token
    # Without a token set, nobody can present the right one: the engine
    # endpoints are closed rather than open to anyone (`make run` sets one).
    if (
        expected is None
        or token is None
        or not hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
    ):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "engine token required")


router = APIRouter(tags=["engine"], dependencies=[Depends(require_engine_token)])

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def local_value(value: Any, language: str) -> str:
    """A slot value as the worker reads it: dates in their language's long form."""
    text = str(value)
    if _ISO_DATE.match(text):
        return format_date(date.fromisoformat(text), format="long", locale=language)
    return text


async def _keep_understanding(state: AppState, tracker: Any) -> None:
    """What the engine understood of the worker's latest message, kept once.
    Never in the way of the worker's answer."""
    try:
        await state.understanding.record(tracker if isinstance(tracker, dict) else None)
    except (SQLAlchemyError, OSError) as error:
        logger.warning("the engine's understanding was not kept: %s", type(error).__name__)


@router.post("/nlg")
async def generate_response(
    state: StateDep, request: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Rasa's NLG endpoint: a response name in, the words in the worker's language out."""
    await _keep_understanding(state, request.get("tracker"))
    name = request.get("response")
    sender_id = (request.get("tracker") or {}).get("sender_id")
    if not isinstance(name, str):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "response name missing")
    language: str = state.settings.hotline_default_language
    if isinstance(sender_id, str):
        async with state.reading() as session:
            language = await service.language_by_public_id(
                session=session, public_id=sender_id, default=language
            )
    # Figures in a response ({province}, {wage_baht}, ...) come from the
    # engine's slots, which the actions fill, or from the call's arguments.
    values = {
        key: state.provinces.display(str(value), language)
        if key == "province"
        else local_value(value, language)
        for key, value in {
            **((request.get("tracker") or {}).get("slots") or {}),
            **(request.get("arguments") or {}),
        }.items()
        if isinstance(key, str) and value is not None
    }
    try:
        reply = state.responses.render(name, language, **values)
    except UnknownResponse:
        logger.error("the engine asked for unknown response %s", name)
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown response") from None
    return {
        "text": reply.text,
        "buttons": [button.as_dict() for button in reply.buttons],
        "image": None,
        "elements": [],
        "attachments": [],
        "custom": {},
    }


@router.post("/actions/webhook")
async def run_action(state: StateDep, action_call: Annotated[dict[str, Any], Body()]) -> Any:
    """Rasa's action endpoint, served by rasa-sdk's executor inside the app."""
    await _keep_understanding(state, action_call.get("tracker"))
    try:
        result = await state.actions.run(action_call)
    except ActionNotFoundException as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, error.message) from None
    except ActionExecutionRejection as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, error.message) from None
    except ActionMissingDomainException as error:
        # 449 asks the engine to send the request again with its domain.
        raise HTTPException(449, error.message) from None
    return result.model_dump() if result else None
