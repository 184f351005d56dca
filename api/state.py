"""What the app holds for its lifetime, built in the lifespan, never at import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from rasa_sdk.executor import ActionExecutor
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.settings import Settings
from bot.dialogue import Hotline
from bot.engine import EngineClient
from bot.responses import Responses
from bot.texts import Texts


@dataclass
class AppState:
    settings: Settings
    database: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    texts: Texts
    responses: Responses
    engine: EngineClient
    hotline: Hotline
    actions: ActionExecutor


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.hotline
    return state


StateDep = Annotated[AppState, Depends(get_state)]
