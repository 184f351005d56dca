"""Staff of the organisation, their sessions and tokens, and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.database import Base
from core.encrypted_columns import EncryptedText


class Role(enum.StrEnum):
    """What a staff member may see and do.

    Agents: the queue and what is assigned to them. Supervisors: everything
    agents see, all conversations and cases, and assigning. Admins: staff
    accounts and the audit log as well.
    """

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default=Role.AGENT.value)
    # argon2id hash; never the password itself.
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The console's language this staff member last chose (None: their
    # browser's); it follows them to every device they sign in on.
    console_language: Mapped[str | None] = mapped_column(String(8))
    # Two-factor sign-in (TOTP): the shared secret, encrypted with the
    # hotline's vault and loaded only where a code is checked (deferred);
    # the one being set up until a code confirms it; when it was confirmed
    # (None: no second step); and the last 30-second step whose code was
    # taken, so that no code works twice.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText, deferred=True)
    totp_pending_secret: Mapped[str | None] = mapped_column(EncryptedText, deferred=True)
    two_factor_since: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]


class RecoveryCode(Base):
    """A one-time code for signing in without the authenticator; stored only hashed."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class PendingSignIn(Base):
    """A sign-in whose password was right, waiting a few minutes for its second
    step. The browser holds the token (a cookie); only its hash is stored."""

    __tablename__ = "staff_pending_sign_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class StaffSession(Base):
    """A console login. Only a hash of the cookie's token is stored."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class ApiToken(Base):
    """A token for an integration, acting with the rights of one staff member."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # Limited to reading (GET): for dashboards and exports that change nothing.
    read_only: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Console logins, kept for a while to slow down guessing per address and account."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool]
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AuditEntry(Base):
    """Who looked at or changed what, and when.

    Written by the services, read by admins; the app has no way to change or
    delete an entry. `detail` never holds a worker's words or contact details.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # None: the hotline itself (retention, a worker's own request).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(48))
    object_type: Mapped[str] = mapped_column(String(24))
    object_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
