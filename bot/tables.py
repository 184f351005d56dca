"""Every table the hotline keeps, imported in one place for Alembic and tests."""

from __future__ import annotations

from bot import leases
from bot.cases import models as cases
from bot.conversations import models as conversations
from bot.danger import alarms as danger
from bot.handoff import models as handoff
from bot.privacy import models as privacy
from bot.staff import models as staff
from bot.understanding import models as understanding
from core.database import Base

# Every table above registered on it; Alembic, key rotation and tests read it.
metadata = Base.metadata

__all__ = [
    "cases",
    "conversations",
    "danger",
    "handoff",
    "leases",
    "metadata",
    "privacy",
    "staff",
    "understanding",
]
