"""The FastAPI app: channels, the engine's NLG and action endpoints, health."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from rasa_sdk.executor import ActionExecutor

from api import engine_hooks, health
from api.database import create_engine, create_sessionmaker
from api.limits import BodySizeLimit
from api.settings import Settings, get_settings
from api.state import AppState
from bot.channels import webchat
from bot.dialogue import Hotline
from bot.engine import EngineClient
from bot.latin_language import LatinLanguageModel
from bot.responses import Responses
from bot.texts import Texts
from flows.actions import build_actions
from flows.actions.context import ActionContext

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = create_engine(settings.hotline_database_url)
        sessions = create_sessionmaker(database)
        texts = Texts(settings.hotline_locales_dir)
        responses = Responses(settings.hotline_domain_file, texts)
        engine = EngineClient(
            base_url=settings.rasa_url, timeout=settings.hotline_engine_timeout_seconds
        )
        actions = ActionExecutor()
        for action in build_actions(ActionContext(sessions=sessions, settings=settings)):
            actions.register_action(action)
        app.state.hotline = AppState(
            settings=settings,
            database=database,
            sessions=sessions,
            texts=texts,
            responses=responses,
            engine=engine,
            hotline=Hotline(
                sessions=sessions,
                engine=engine,
                texts=texts,
                latin=LatinLanguageModel.from_training_data(settings.hotline_nlu_data_dir),
                settings=settings,
            ),
            actions=actions,
        )
        try:
            yield
        finally:
            await engine.close()
            await database.dispose()

    app = FastAPI(title="Migrant workers' hotline", version="0.1.0", lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=settings.hotline_max_body_bytes)
    app.include_router(health.router)
    app.include_router(webchat.router)
    app.include_router(engine_hooks.router)
    app.mount("/chat/static", StaticFiles(directory=webchat.STATIC_DIR), name="chat-static")
    return app
