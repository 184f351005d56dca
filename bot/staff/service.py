"""Staff accounts: passwords, console sign-in with lockout, sessions and API tokens.

Functions take the caller's database session (`session=`) and commit the
work they did, so a refused sign-in still counts towards the lock. Only
hashes of secrets are stored: argon2id for passwords (`passwords.py`), SHA-256 for session
cookies and API tokens (both are long random values, so a fast hash is
enough and lets them be looked up by index).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff import audit, passwords
from bot.staff.models import ApiToken, LoginAttempt, Role, Staff, StaffSession
from core.clock import utcnow
from core.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from core.settings import Settings

MIN_PASSWORD_LENGTH = 10
# Sign-in attempts (with the address they came from) and expired sessions
# are deleted after this long.
KEEP_SIGN_INS = timedelta(days=7)
USERNAME_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


def secret_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "a password needs at least %(count)s characters", count=MIN_PASSWORD_LENGTH
        )


def check_username(username: str) -> None:
    if not 1 <= len(username) <= 64 or not set(username) <= USERNAME_CHARACTERS:
        raise InvalidInput("a username is 1 to 64 lower-case letters, digits, '.', '_' or '-'")


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(
            "a role is one of %(roles)s", roles=", ".join(r.value for r in Role)
        ) from None


@dataclass(frozen=True)
class LoginPolicy:
    lock_after: int
    lock_for: timedelta
    address_limit: int
    window: timedelta
    session_lifetime: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        return cls(
            lock_after=settings.hotline_login_lock_after,
            lock_for=timedelta(minutes=settings.hotline_login_lock_minutes),
            address_limit=settings.hotline_login_address_limit,
            window=timedelta(minutes=settings.hotline_login_window_minutes),
            session_lifetime=timedelta(hours=settings.hotline_session_hours),
        )


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in. `token` goes into the cookie, once; it is not stored."""

    staff_id: int | None = None
    token: str | None = None
    console_language: str | None = None
    # Why not: "wrong" (unknown user, wrong password, inactive or locked
    # account: staff are told the same for all, so as not to help a
    # guesser) or "address" (too many failures from this address).
    refused: str | None = None

    @property
    def ok(self) -> bool:
        return self.token is not None


async def staff_by_username(*, session: AsyncSession, username: str) -> Staff | None:
    result = await session.execute(select(Staff).where(Staff.username == username))
    return result.scalar_one_or_none()


async def _staff_or_404(session: AsyncSession, username: str) -> Staff:
    staff = await staff_by_username(session=session, username=username)
    if staff is None:
        raise NotFound("no staff member '%(username)s'", username=username)
    return staff


async def create_staff(
    *,
    session: AsyncSession,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    by_staff_id: int | None = None,
) -> Staff:
    check_username(username)
    check_password(password)
    display_name = display_name.strip()
    if not display_name or len(display_name) > 100:
        raise InvalidInput("a display name is 1 to 100 characters")
    if await staff_by_username(session=session, username=username) is not None:
        raise Conflict("the username '%(username)s' is taken", username=username)
    staff = Staff(
        username=username,
        display_name=display_name,
        role=role.value,
        password_hash=await passwords.hash_password(password),
        failed_logins=0,
        active=True,
    )
    session.add(staff)
    await session.flush()
    await audit.record(
        session=session,
        staff_id=by_staff_id,
        action="staff.create",
        object_type="staff",
        object_id=str(staff.id),
        detail={"username": username, "role": role.value},
    )
    await session.commit()
    return staff


async def change_password(
    *, session: AsyncSession, username: str, password: str, by_staff_id: int | None = None
) -> None:
    """Set a new password; open sessions end, as a stolen cookie must not outlive it."""
    check_password(password)
    staff = await _staff_or_404(session, username)
    staff.password_hash = await passwords.hash_password(password)
    staff.failed_logins = 0
    staff.locked_until = None
    await _end_sessions_of(session, staff.id)
    await audit.record(
        session=session,
        staff_id=by_staff_id,
        action="staff.password",
        object_type="staff",
        object_id=str(staff.id),
    )
    await session.commit()


async def _end_sessions_of(session: AsyncSession, staff_id: int) -> None:
    await session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


async def _forget_old_sign_ins(session: AsyncSession, before: datetime) -> None:
    """Attempts and ended sessions are needed only for a while (the audit log keeps logins)."""
    await session.execute(delete(LoginAttempt).where(LoginAttempt.at < before))
    await session.execute(delete(StaffSession).where(StaffSession.expires_at < before))


async def _recent_failures_from(session: AsyncSession, address: str, since: datetime) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.address == address,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at >= since,
        )
    )
    return int(result.scalar_one())


async def sign_in(
    *,
    session: AsyncSession,
    username: str,
    password: str,
    address: str,
    policy: LoginPolicy,
) -> SignIn:
    """Check a console sign-in and start a session; every attempt is kept and committed."""
    now = utcnow()
    username = username.strip().lower()[:64]
    address = address[:64]
    if await _recent_failures_from(session, address, now - policy.window) >= policy.address_limit:
        session.add(LoginAttempt(address=address, username=username, succeeded=False, at=now))
        await audit.record(
            session=session,
            staff_id=None,
            action="login.address_limited",
            object_type="address",
            object_id=address,
        )
        await session.commit()
        return SignIn(refused="address")

    staff = await staff_by_username(session=session, username=username)
    matches = await passwords.matches(
        staff.password_hash if staff is not None else passwords.UNKNOWN_ACCOUNT_HASH, password
    )
    # Writes only from here on: on SQLite the first write takes the
    # database's one write lock, which nobody else (a worker's message
    # being stored) must wait for while the password is hashed.
    await _forget_old_sign_ins(session, now - max(policy.window, KEEP_SIGN_INS))
    locked = staff is not None and staff.locked_until is not None and staff.locked_until > now
    if staff is None or not staff.active or locked or not matches:
        session.add(LoginAttempt(address=address, username=username, succeeded=False, at=now))
        if staff is not None and not matches and not locked:
            # Counted in the database, so that guesses sent in parallel are
            # all counted rather than overwriting each other's count.
            counted = await session.execute(
                update(Staff)
                .where(Staff.id == staff.id)
                .values(failed_logins=Staff.failed_logins + 1)
                .returning(Staff.failed_logins)
            )
            if counted.scalar_one() >= policy.lock_after:
                staff.locked_until = now + policy.lock_for
                staff.failed_logins = 0
                await audit.record(
                    session=session,
                    staff_id=None,
                    action="staff.locked",
                    object_type="staff",
                    object_id=str(staff.id),
                    detail={"until": staff.locked_until.isoformat()},
                )
        await session.commit()
        return SignIn(refused="wrong")

    if passwords.needs_rehash(staff.password_hash):
        staff.password_hash = await passwords.hash_password(password)
    staff.failed_logins = 0
    staff.locked_until = None
    session.add(LoginAttempt(address=address, username=username, succeeded=True, at=now))
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=secret_hash(token),
            staff_id=staff.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + policy.session_lifetime,
        )
    )
    await audit.record(
        session=session, staff_id=staff.id, action="login", object_type="staff", object_id=None
    )
    await session.commit()
    return SignIn(staff_id=staff.id, token=token, console_language=staff.console_language)


async def session_for_token(
    *, session: AsyncSession, token: str
) -> tuple[Staff, StaffSession] | None:
    """The open session a cookie names, and its staff member, if both are still valid."""
    result = await session.execute(
        select(StaffSession, Staff)
        .join(Staff, Staff.id == StaffSession.staff_id)
        .where(StaffSession.token_hash == secret_hash(token))
    )
    row = result.one_or_none()
    if row is None:
        return None
    staff_session, staff = row
    if staff_session.ended_at is not None or staff_session.expires_at <= utcnow():
        return None
    if not staff.active:
        return None
    return staff, staff_session


async def sign_out(*, session: AsyncSession, token: str) -> None:
    result = await session.execute(
        select(StaffSession).where(
            StaffSession.token_hash == secret_hash(token), StaffSession.ended_at.is_(None)
        )
    )
    staff_session = result.scalar_one_or_none()
    if staff_session is None:
        return
    staff_session.ended_at = utcnow()
    await audit.record(
        session=session,
        staff_id=staff_session.staff_id,
        action="logout",
        object_type="staff",
        object_id=None,
    )
    await session.commit()


async def create_api_token(
    *, session: AsyncSession, username: str, name: str, by_staff_id: int | None = None
) -> str:
    """A new token for an integration acting as `username`; returned once, stored hashed."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a token name is 1 to 100 characters")
    staff = await _staff_or_404(session, username)
    token = "hlt_" + secrets.token_urlsafe(32)
    api_token = ApiToken(token_hash=secret_hash(token), staff_id=staff.id, name=name)
    session.add(api_token)
    await session.flush()
    await audit.record(
        session=session,
        staff_id=by_staff_id,
        action="token.create",
        object_type="api_token",
        object_id=str(api_token.id),
        detail={"for_staff_id": staff.id},
    )
    await session.commit()
    return token


async def revoke_api_token(
    *, session: AsyncSession, token_id: int, by_staff_id: int | None = None
) -> None:
    api_token = await session.get(ApiToken, token_id)
    if api_token is None:
        raise NotFound("no such token")
    if api_token.revoked_at is None:
        api_token.revoked_at = utcnow()
        await audit.record(
            session=session,
            staff_id=by_staff_id,
            action="token.revoke",
            object_type="api_token",
            object_id=str(token_id),
        )
    await session.commit()


async def api_tokens_of(*, session: AsyncSession, username: str) -> list[ApiToken]:
    staff = await _staff_or_404(session, username)
    result = await session.execute(
        select(ApiToken).where(ApiToken.staff_id == staff.id).order_by(ApiToken.id)
    )
    return list(result.scalars())


async def staff_for_api_token(*, session: AsyncSession, token: str) -> Staff | None:
    result = await session.execute(
        select(Staff)
        .join(ApiToken, ApiToken.staff_id == Staff.id)
        .where(ApiToken.token_hash == secret_hash(token), ApiToken.revoked_at.is_(None))
    )
    staff = result.scalar_one_or_none()
    if staff is None or not staff.active:
        return None
    return staff


async def all_staff(*, session: AsyncSession) -> list[Staff]:
    result = await session.execute(select(Staff).order_by(Staff.username))
    return list(result.scalars())


async def set_console_language(*, session: AsyncSession, staff_id: int, language: str) -> None:
    """Remember the console's language a staff member chose (a preference, not audited)."""
    await session.execute(
        update(Staff).where(Staff.id == staff_id).values(console_language=language)
    )
    await session.commit()


async def set_role(
    *, session: AsyncSession, staff_id: int, role: Role, by_staff_id: int | None
) -> None:
    staff = await _staff_by_id(session, staff_id)
    previous = staff.role
    staff.role = role.value
    await audit.record(
        session=session,
        staff_id=by_staff_id,
        action="staff.role",
        object_type="staff",
        object_id=str(staff_id),
        detail={"from": previous, "to": role.value},
    )
    await session.commit()


async def set_active(
    *, session: AsyncSession, staff_id: int, active: bool, by_staff_id: int | None
) -> None:
    """Deactivate (sessions end, tokens stop working) or reactivate a staff member."""
    if not active and staff_id == by_staff_id:
        raise InvalidInput("you cannot deactivate yourself")
    staff = await _staff_by_id(session, staff_id)
    staff.active = active
    if not active:
        await _end_sessions_of(session, staff.id)
    await audit.record(
        session=session,
        staff_id=by_staff_id,
        action="staff.activate" if active else "staff.deactivate",
        object_type="staff",
        object_id=str(staff_id),
    )
    await session.commit()


async def unlock(*, session: AsyncSession, staff_id: int, by_staff_id: int | None) -> None:
    staff = await _staff_by_id(session, staff_id)
    staff.locked_until = None
    staff.failed_logins = 0
    await audit.record(
        session=session,
        staff_id=by_staff_id,
        action="staff.unlock",
        object_type="staff",
        object_id=str(staff_id),
    )
    await session.commit()


async def _staff_by_id(session: AsyncSession, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("no such staff member")
    return staff
