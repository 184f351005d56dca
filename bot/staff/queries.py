"""Staff accounts as stored: finding them, staging new ones and their changes.

The functions take the caller's session (`session=`), never commit and
write no audit entry: `StaffAccounts` (`service.py`) owns each unit of work.
Only hashes of secrets are stored: argon2id for passwords (`passwords.py`),
SHA-256 for session cookies, API tokens, pending second steps and recovery
codes (all long random values, so a fast hash is enough and lets them be
looked up by index). The one secret that must be read back, a TOTP secret,
is stored encrypted with the hotline's vault (`Staff.totp_secret`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff import passwords
from bot.staff.models import (
    ApiToken,
    LoginAttempt,
    PendingSignIn,
    RecoveryCode,
    Role,
    Staff,
    StaffSession,
)
from core.clock import utcnow
from core.errors import Conflict, InvalidInput, NotFound

MIN_PASSWORD_LENGTH = 10
USERNAME_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


# An integration's token is made again at least this often.
MAX_TOKEN_LIFETIME = timedelta(days=365)
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)


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


async def staff_by_username(*, session: AsyncSession, username: str) -> Staff | None:
    result = await session.execute(select(Staff).where(Staff.username == username))
    return result.scalar_one_or_none()


async def staff_named(*, session: AsyncSession, username: str) -> Staff:
    staff = await staff_by_username(session=session, username=username)
    if staff is None:
        raise NotFound("no staff member '%(username)s'", username=username)
    return staff


async def staff_with_id(*, session: AsyncSession, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("no such staff member")
    return staff


async def add_staff(
    *, session: AsyncSession, username: str, display_name: str, role: Role, password: str
) -> Staff:
    """A new, active staff member, checked and staged (with its id)."""
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
    return staff


async def end_sessions_of(*, session: AsyncSession, staff_id: int) -> None:
    await session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


async def forget_old_sign_ins(*, session: AsyncSession, before: datetime) -> None:
    """Attempts and ended sessions are needed only for a while (the audit log keeps logins)."""
    await session.execute(delete(LoginAttempt).where(LoginAttempt.at < before))
    await session.execute(delete(StaffSession).where(StaffSession.expires_at < before))
    await session.execute(delete(PendingSignIn).where(PendingSignIn.expires_at < before))


async def recent_failures_from(*, session: AsyncSession, address: str, since: datetime) -> int:
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


async def count_attempt(
    *, session: AsyncSession, staff_id: int, now: datetime
) -> tuple[int, datetime | None]:
    """One more attempt on the account, counted in the database before its
    password is checked, in one statement: of guesses sent in parallel, the
    n-th sees n, so no more than the lock allows reach the password. A lock
    that ran out starts the count again; a lock in force counts nothing.
    The count and the lock in force."""
    locked = Staff.locked_until.is_not(None) & (Staff.locked_until > now)
    counted = await session.execute(
        update(Staff)
        .where(Staff.id == staff_id)
        .values(
            failed_logins=case(
                (locked, Staff.failed_logins),
                (Staff.locked_until.is_not(None), 1),
                else_=Staff.failed_logins + 1,
            ),
            locked_until=case((locked, Staff.locked_until), else_=None),
        )
        .returning(Staff.failed_logins, Staff.locked_until)
    )
    count, locked_until = counted.one()
    return int(count), locked_until


async def lock_account(*, session: AsyncSession, staff_id: int, until: datetime) -> bool:
    """Locked until then, unless a lock is in force already (False); the
    count starts again for after the lock."""
    locked = await session.execute(
        update(Staff)
        .where(
            Staff.id == staff_id,
            Staff.locked_until.is_(None) | (Staff.locked_until <= utcnow()),
        )
        .values(locked_until=until, failed_logins=0)
    )
    return bool(locked.rowcount)  # type: ignore[attr-defined]


async def mark_attempt_succeeded(*, session: AsyncSession, attempt_id: int) -> None:
    await session.execute(
        update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True)
    )


def add_session(
    *, session: AsyncSession, staff_id: int, now: datetime, expires_at: datetime
) -> str:
    """A new console session; its cookie value, which is stored only hashed."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=secret_hash(token),
            staff_id=staff_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token


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


async def open_session(*, session: AsyncSession, token: str) -> StaffSession | None:
    """The session a cookie names, if it has not ended (expired or not)."""
    result = await session.execute(
        select(StaffSession).where(
            StaffSession.token_hash == secret_hash(token), StaffSession.ended_at.is_(None)
        )
    )
    return result.scalar_one_or_none()


async def add_api_token(
    *, session: AsyncSession, username: str, name: str, lifetime: timedelta, read_only: bool
) -> tuple[ApiToken, str]:
    """A new token for an integration acting as `username`, staged (with its
    id), and the token itself, which is stored only hashed."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a token name is 1 to 100 characters")
    if not timedelta(days=1) <= lifetime <= MAX_TOKEN_LIFETIME:
        raise InvalidInput(f"a token lasts 1 to {MAX_TOKEN_LIFETIME.days} days")
    staff = await staff_named(session=session, username=username)
    token = "hlt_" + secrets.token_urlsafe(32)
    api_token = ApiToken(
        token_hash=secret_hash(token),
        staff_id=staff.id,
        name=name,
        expires_at=utcnow() + lifetime,
        read_only=read_only,
    )
    session.add(api_token)
    await session.flush()
    return api_token, token


async def api_token_with_id(*, session: AsyncSession, token_id: int) -> ApiToken:
    api_token = await session.get(ApiToken, token_id)
    if api_token is None:
        raise NotFound("no such token")
    return api_token


async def api_tokens_of(*, session: AsyncSession, username: str) -> list[ApiToken]:
    staff = await staff_named(session=session, username=username)
    result = await session.execute(
        select(ApiToken).where(ApiToken.staff_id == staff.id).order_by(ApiToken.id)
    )
    return list(result.scalars())


async def staff_for_api_token(
    *, session: AsyncSession, token: str
) -> tuple[Staff, ApiToken] | None:
    """The staff member a token acts for, and the token, while it is valid."""
    result = await session.execute(
        select(Staff, ApiToken)
        .join(ApiToken, ApiToken.staff_id == Staff.id)
        .where(
            ApiToken.token_hash == secret_hash(token),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > utcnow(),
        )
    )
    found = result.tuples().one_or_none()
    if found is None or not found[0].active:
        return None
    return found


async def revoke_api_tokens_of(*, session: AsyncSession, staff_id: int) -> None:
    await session.execute(
        update(ApiToken)
        .where(ApiToken.staff_id == staff_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def all_staff(*, session: AsyncSession) -> list[Staff]:
    result = await session.execute(select(Staff).order_by(Staff.username))
    return list(result.scalars())


async def set_console_language(*, session: AsyncSession, staff_id: int, language: str) -> None:
    await session.execute(
        update(Staff).where(Staff.id == staff_id).values(console_language=language)
    )


async def staff_id_named(*, session: AsyncSession, username: str) -> int | None:
    found: int | None = await session.scalar(
        select(Staff.id).where(Staff.username == username.strip().lower())
    )
    return found


# Two-factor sign-in


async def totp_secrets_of(*, session: AsyncSession, staff_id: int) -> tuple[str | None, str | None]:
    """The staff member's TOTP secret and the one being set up (decrypted)."""
    result = await session.execute(
        select(Staff.totp_secret, Staff.totp_pending_secret).where(Staff.id == staff_id)
    )
    row = result.one_or_none()
    if row is None:
        raise NotFound("no such staff member")
    return row[0], row[1]


async def set_pending_totp_secret(*, session: AsyncSession, staff_id: int, secret: str) -> None:
    await session.execute(
        update(Staff).where(Staff.id == staff_id).values(totp_pending_secret=secret)
    )


async def turn_on_totp(
    *, session: AsyncSession, staff_id: int, secret: str, step: int, now: datetime
) -> None:
    """The confirmed secret takes over; the step that confirmed it is taken."""
    await session.execute(
        update(Staff)
        .where(Staff.id == staff_id)
        .values(
            totp_secret=secret,
            totp_pending_secret=None,
            two_factor_since=now,
            totp_last_step=step,
        )
    )


async def turn_off_totp(*, session: AsyncSession, staff_id: int) -> None:
    await session.execute(
        update(Staff)
        .where(Staff.id == staff_id)
        .values(
            totp_secret=None, totp_pending_secret=None, two_factor_since=None, totp_last_step=None
        )
    )
    await session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff_id))


async def take_totp_step(*, session: AsyncSession, staff_id: int, step: int) -> bool:
    """Mark a code's 30-second step as taken, in one statement: False when
    it or a later one was taken already (a replayed code, or the same code
    sent twice at once)."""
    taken = await session.execute(
        update(Staff)
        .where(
            Staff.id == staff_id,
            Staff.totp_last_step.is_(None) | (Staff.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def replace_recovery_codes(
    *, session: AsyncSession, staff_id: int, codes: list[str], now: datetime
) -> None:
    """Stage the new codes' hashes (the caller has removed the old ones)."""
    for code in codes:
        session.add(RecoveryCode(staff_id=staff_id, code_hash=secret_hash(code), created_at=now))


async def delete_recovery_codes(*, session: AsyncSession, staff_id: int) -> None:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff_id))


async def use_recovery_code(
    *, session: AsyncSession, staff_id: int, code: str, now: datetime
) -> bool:
    """Use up one of the staff member's recovery codes, in one statement:
    False if no unused code of theirs matches."""
    used = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.staff_id == staff_id,
            RecoveryCode.code_hash == secret_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return bool(used.rowcount)  # type: ignore[attr-defined]


async def recovery_codes_left(*, session: AsyncSession, staff_id: int) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.staff_id == staff_id, RecoveryCode.used_at.is_(None))
    )
    return int(result.scalar_one())


def add_pending_sign_in(
    *, session: AsyncSession, staff_id: int, now: datetime, expires_at: datetime
) -> str:
    """A sign-in waiting for its second step; its cookie value, stored only hashed."""
    token = secrets.token_urlsafe(32)
    session.add(
        PendingSignIn(
            token_hash=secret_hash(token), staff_id=staff_id, created_at=now, expires_at=expires_at
        )
    )
    return token


async def pending_sign_in(
    *, session: AsyncSession, token: str, now: datetime
) -> PendingSignIn | None:
    """The pending sign-in a cookie names, if it has neither ended nor expired."""
    result = await session.execute(
        select(PendingSignIn).where(
            PendingSignIn.token_hash == secret_hash(token),
            PendingSignIn.ended_at.is_(None),
            PendingSignIn.expires_at > now,
        )
    )
    return result.scalar_one_or_none()


async def end_pending_sign_in(*, session: AsyncSession, pending_id: int, now: datetime) -> bool:
    """End it, in one statement: False if it had ended already (used at once twice)."""
    ended = await session.execute(
        update(PendingSignIn)
        .where(PendingSignIn.id == pending_id, PendingSignIn.ended_at.is_(None))
        .values(ended_at=now)
    )
    return bool(ended.rowcount)  # type: ignore[attr-defined]
