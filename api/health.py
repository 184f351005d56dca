"""`GET /healthz`: 200 only when the database and the engine both answer."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.state import StateDep

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(state: StateDep) -> JSONResponse:
    try:
        async with state.database.connect() as connection:
            await connection.execute(text("SELECT 1"))
        database_ok = True
    except (SQLAlchemyError, OSError) as error:
        logger.warning("database check failed: %s", type(error).__name__)
        database_ok = False
    engine_ok = await state.engine.is_up()
    healthy = database_ok and engine_ok
    return JSONResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "database": "ok" if database_ok else "unavailable",
            "engine": "ok" if engine_ok else "unavailable",
        },
        status_code=200 if healthy else 503,
    )
