"""Every table the hotline keeps, imported in one place for Alembic and tests."""

from __future__ import annotations

from api.staff import models as staff
from bot.cases import models as cases
from bot.conversations import models as conversations
from bot.danger import alarms as danger
from bot.handoff import models as handoff
from bot.privacy import models as privacy

__all__ = ["cases", "conversations", "danger", "handoff", "privacy", "staff"]
