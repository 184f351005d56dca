"""Staff accounts: passwords, console sign-in with lockout, sessions and API tokens.

`StaffAccounts` owns the units of work: each public method opens its own
transaction, stages the change through `queries.py`, records the audit entry
in the same transaction (`audit.py`) and commits, so a refused sign-in
still counts towards the lock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.staff import audit, passwords, queries, two_factor
from bot.staff.models import ApiToken, LoginAttempt, Role, Staff, StaffSession
from core.clock import utcnow
from core.errors import Conflict, InvalidInput

if TYPE_CHECKING:
    from core.settings import Settings

# Sign-in attempts (with the address they came from) and expired sessions
# are deleted after this long.
KEEP_SIGN_INS = timedelta(days=7)
# A right password waits this long for its second step (a TOTP or recovery code).
SECOND_STEP_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True)
class LoginPolicy:
    lock_after: int
    lock_for: timedelta
    address_limit: int
    window: timedelta
    session_lifetime: timedelta
    # Roles whose console sign-ins must use a second step once set up, and
    # reach only its setup page until then.
    two_factor_roles: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        return cls(
            lock_after=settings.hotline_login_lock_after,
            lock_for=timedelta(minutes=settings.hotline_login_lock_minutes),
            address_limit=settings.hotline_login_address_limit,
            window=timedelta(minutes=settings.hotline_login_window_minutes),
            session_lifetime=timedelta(hours=settings.hotline_session_hours),
            two_factor_roles=settings.totp_required_roles,
        )


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in. `token` goes into the cookie, once; it is not stored."""

    staff_id: int | None = None
    token: str | None = None
    console_language: str | None = None
    # Why not: "wrong" (unknown user, wrong password, inactive or locked
    # account: staff are told the same for all, so as not to help a
    # guesser), "address" (too many failures from this address); on the
    # second step "code" (a wrong or used code, or a locked account) or
    # "expired" (no pending sign-in: sign in again).
    refused: str | None = None
    # The password was right and the account has two-factor sign-in: this
    # goes into a cookie, once, and comes back with the code (`second_step`).
    pending: str | None = None
    # Signed in, but of a role that must set up two-factor sign-in first.
    must_set_up_two_factor: bool = False

    @property
    def ok(self) -> bool:
        return self.token is not None


@dataclass(frozen=True)
class TwoFactorState:
    since: datetime | None
    recovery_codes_left: int


class StaffAccounts:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], policy: LoginPolicy) -> None:
        self._sessions = sessions
        self._policy = policy

    # Reading

    async def session_for_token(self, token: str) -> tuple[Staff, StaffSession] | None:
        """The open session a cookie names, and its staff member, if both are still valid."""
        async with self._sessions() as session:
            return await queries.session_for_token(session=session, token=token)

    async def staff_for_api_token(self, token: str) -> tuple[Staff, ApiToken] | None:
        async with self._sessions() as session:
            return await queries.staff_for_api_token(session=session, token=token)

    async def all_staff(self) -> list[Staff]:
        async with self._sessions() as session:
            return await queries.all_staff(session=session)

    async def member(self, staff_id: int) -> Staff | None:
        async with self._sessions() as session:
            return await session.get(Staff, staff_id)

    async def staff_id_named(self, username: str) -> int | None:
        async with self._sessions() as session:
            return await queries.staff_id_named(session=session, username=username)

    def must_set_up_two_factor(self, staff: Staff) -> bool:
        """Of a role that must sign in with a second step, and without one yet."""
        return staff.role in self._policy.two_factor_roles and staff.two_factor_since is None

    async def audit_entries(
        self,
        *,
        wanted: audit.AuditFilter,
        username: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[audit.AuditLine]:
        """Audit entries newest first, of one staff member when `username` is given."""
        async with self._sessions() as session:
            if username:
                staff_id = await queries.staff_id_named(session=session, username=username)
                # An unknown username matches nothing rather than everything.
                wanted = replace(wanted, staff_id=-1 if staff_id is None else staff_id)
            return await audit.entries(
                session=session, wanted=wanted, limit=limit, before_id=before_id
            )

    async def api_tokens_of(self, username: str) -> list[ApiToken]:
        async with self._sessions() as session:
            return await queries.api_tokens_of(session=session, username=username)

    # Accounts

    async def create_staff(
        self,
        *,
        username: str,
        display_name: str,
        role: Role,
        password: str,
        by_staff_id: int | None = None,
    ) -> Staff:
        async with self._sessions.begin() as session:
            staff = await queries.add_staff(
                session=session,
                username=username,
                display_name=display_name,
                role=role,
                password=password,
            )
            await audit.record(
                session=session,
                staff_id=by_staff_id,
                action="staff.create",
                object_type="staff",
                object_id=str(staff.id),
                detail={"username": username, "role": role.value},
            )
        return staff

    async def change_password(
        self, *, username: str, password: str, by_staff_id: int | None = None
    ) -> None:
        """Set a new password; open sessions end, as a stolen cookie must not outlive it."""
        queries.check_password(password)
        async with self._sessions.begin() as session:
            staff = await queries.staff_named(session=session, username=username)
            staff.password_hash = await passwords.hash_password(password)
            staff.failed_logins = 0
            staff.locked_until = None
            await queries.end_sessions_of(session=session, staff_id=staff.id)
            # A token made by whoever knew the old password must not outlive it.
            await queries.revoke_api_tokens_of(session=session, staff_id=staff.id)
            await audit.record(
                session=session,
                staff_id=by_staff_id,
                action="staff.password",
                object_type="staff",
                object_id=str(staff.id),
            )

    async def set_console_language(self, *, staff_id: int, language: str) -> None:
        """Remember the console's language a staff member chose (a preference, not audited)."""
        async with self._sessions.begin() as session:
            await queries.set_console_language(
                session=session, staff_id=staff_id, language=language
            )

    async def set_role(self, *, staff_id: int, role: Role, by_staff_id: int | None) -> Staff:
        async with self._sessions.begin() as session:
            staff = await queries.staff_with_id(session=session, staff_id=staff_id)
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
        return staff

    async def set_active(self, *, staff_id: int, active: bool, by_staff_id: int | None) -> Staff:
        """Deactivate (sessions end, tokens stop working) or reactivate a staff member."""
        if not active and staff_id == by_staff_id:
            raise InvalidInput("you cannot deactivate yourself")
        async with self._sessions.begin() as session:
            staff = await queries.staff_with_id(session=session, staff_id=staff_id)
            staff.active = active
            if not active:
                await queries.end_sessions_of(session=session, staff_id=staff.id)
            await audit.record(
                session=session,
                staff_id=by_staff_id,
                action="staff.activate" if active else "staff.deactivate",
                object_type="staff",
                object_id=str(staff_id),
            )
        return staff

    async def unlock(self, *, staff_id: int, by_staff_id: int | None) -> Staff:
        async with self._sessions.begin() as session:
            staff = await queries.staff_with_id(session=session, staff_id=staff_id)
            staff.locked_until = None
            staff.failed_logins = 0
            await audit.record(
                session=session,
                staff_id=by_staff_id,
                action="staff.unlock",
                object_type="staff",
                object_id=str(staff_id),
            )
        return staff

    # Signing in and out

    async def sign_in(self, *, username: str, password: str, address: str) -> SignIn:
        """Check a console sign-in and start a session; every attempt is kept and committed.

        Two steps. First the attempt is counted, against the address and the
        account, and committed: of many guesses sent at once each sees those
        before it, so no more than the limits allow get as far as the
        password. Then the password is checked (in a thread, with no
        transaction open) and the outcome written.
        """
        policy = self._policy
        now = utcnow()
        username = username.strip().lower()[:64]
        address = address[:64]
        async with self._sessions.begin() as session:
            await queries.forget_old_sign_ins(
                session=session, before=now - max(policy.window, KEEP_SIGN_INS)
            )
            attempt = LoginAttempt(address=address, username=username, succeeded=False, at=now)
            session.add(attempt)
        # Committed before counting: the n-th attempt committed sees at
        # least n, however many are counted at once.
        attempt_id = attempt.id
        async with self._sessions.begin() as session:
            # This attempt included: counted as failed until it succeeds.
            failures = await queries.recent_failures_from(
                session=session, address=address, since=now - policy.window
            )
            if failures > policy.address_limit:
                await audit.record(
                    session=session,
                    staff_id=None,
                    action="login.address_limited",
                    object_type="address",
                    object_id=address,
                )
                return SignIn(refused="address")
            staff = await queries.staff_by_username(session=session, username=username)
            staff_id = staff.id if staff is not None else None
            password_hash = (
                staff.password_hash if staff is not None else passwords.UNKNOWN_ACCOUNT_HASH
            )
            active = staff is not None and staff.active
            count, locked_until = (
                await queries.count_attempt(session=session, staff_id=staff_id, now=now)
                if staff_id is not None
                else (0, None)
            )
            if staff_id is not None and locked_until is None and count > policy.lock_after:
                # Past the lock among tries sent at once (or left counted by a
                # process that died mid-way): locked, so that the count
                # starts again once the lock runs out.
                await self._lock(session, staff_id, now + policy.lock_for)
        if locked_until is not None or count > policy.lock_after:
            # Refused without spending a hash on it.
            return SignIn(refused="wrong")
        matches = await passwords.matches(password_hash, password)

        async with self._sessions.begin() as session:
            if staff_id is None or not active or not matches:
                if staff_id is not None and count >= policy.lock_after:
                    await self._lock(session, staff_id, now + policy.lock_for)
                return SignIn(refused="wrong")

            staff = await queries.staff_with_id(session=session, staff_id=staff_id)
            if passwords.needs_rehash(staff.password_hash):
                staff.password_hash = await passwords.hash_password(password)
            await queries.mark_attempt_succeeded(session=session, attempt_id=attempt_id)
            if staff.two_factor_since is not None:
                # The account's count stands (this attempt included): wrong
                # codes add to it like wrong passwords, and only the second
                # step's success clears it, so a known password does not
                # buy fresh guesses at the code.
                pending = queries.add_pending_sign_in(
                    session=session,
                    staff_id=staff.id,
                    now=now,
                    expires_at=now + SECOND_STEP_LIFETIME,
                )
                return SignIn(staff_id=staff.id, pending=pending)
            staff.failed_logins = 0
            staff.locked_until = None
            token = queries.add_session(
                session=session,
                staff_id=staff.id,
                now=now,
                expires_at=now + policy.session_lifetime,
            )
            await audit.record(
                session=session,
                staff_id=staff.id,
                action="login",
                object_type="staff",
                object_id=None,
            )
        return SignIn(
            staff_id=staff.id,
            token=token,
            console_language=staff.console_language,
            must_set_up_two_factor=self.must_set_up_two_factor(staff),
        )

    async def second_step(self, *, pending: str, code: str, address: str) -> SignIn:
        """The code of a sign-in whose password was right (`SignIn.pending`):
        a current TOTP code, or one of the account's recovery codes.

        Counted as `sign_in` counts a password, before the code is checked:
        the attempt against the address, and one more on the account, whose
        count the right password left standing; a wrong, replayed or used
        code locks the account as wrong passwords do. A code's 30-second step
        and a recovery code are taken in one statement each, so neither
        works twice, even sent twice at once.
        """
        policy = self._policy
        now = utcnow()
        address = address[:64]
        async with self._sessions.begin() as session:
            waiting = await queries.pending_sign_in(session=session, token=pending, now=now)
            if waiting is None:
                return SignIn(refused="expired")
            pending_id, staff_id = waiting.id, waiting.staff_id
            staff = await queries.staff_with_id(session=session, staff_id=staff_id)
            attempt = LoginAttempt(
                address=address, username=staff.username, succeeded=False, at=now
            )
            session.add(attempt)
        attempt_id = attempt.id
        async with self._sessions.begin() as session:
            failures = await queries.recent_failures_from(
                session=session, address=address, since=now - policy.window
            )
            if failures > policy.address_limit:
                await audit.record(
                    session=session,
                    staff_id=None,
                    action="login.address_limited",
                    object_type="address",
                    object_id=address,
                )
                return SignIn(refused="address")
            count, locked_until = await queries.count_attempt(
                session=session, staff_id=staff_id, now=now
            )
            if locked_until is None and count > policy.lock_after:
                await self._lock(session, staff_id, now + policy.lock_for)
        if locked_until is not None or count > policy.lock_after:
            return SignIn(refused="code")

        async with self._sessions.begin() as session:
            staff = await queries.staff_with_id(session=session, staff_id=staff_id)
            secret, _ = await queries.totp_secrets_of(session=session, staff_id=staff_id)
            used: str | None = None
            if staff.active and secret is not None:
                if two_factor.is_totp_code(code):
                    step = two_factor.matching_step(secret, code)
                    if step is not None and await queries.take_totp_step(
                        session=session, staff_id=staff_id, step=step
                    ):
                        used = "totp"
                elif await queries.use_recovery_code(
                    session=session,
                    staff_id=staff_id,
                    code=two_factor.normal_recovery_code(code),
                    now=now,
                ):
                    used = "recovery_code"
            if used is None or not await queries.end_pending_sign_in(
                session=session, pending_id=pending_id, now=now
            ):
                if count >= policy.lock_after:
                    await self._lock(session, staff_id, now + policy.lock_for)
                return SignIn(refused="code")
            staff.failed_logins = 0
            staff.locked_until = None
            await queries.mark_attempt_succeeded(session=session, attempt_id=attempt_id)
            token = queries.add_session(
                session=session,
                staff_id=staff_id,
                now=now,
                expires_at=now + policy.session_lifetime,
            )
            if used == "recovery_code":
                await audit.record(
                    session=session,
                    staff_id=staff_id,
                    action="staff.2fa_recovery_code",
                    object_type="staff",
                    object_id=str(staff_id),
                    detail={
                        "left": await queries.recovery_codes_left(
                            session=session, staff_id=staff_id
                        )
                    },
                )
            await audit.record(
                session=session,
                staff_id=staff_id,
                action="login",
                object_type="staff",
                object_id=None,
                detail={"second_step": used},
            )
        return SignIn(staff_id=staff_id, token=token, console_language=staff.console_language)

    # Two-factor sign-in: setting it up, and an admin's reset

    async def two_factor_state(self, staff_id: int) -> TwoFactorState:
        async with self._sessions() as session:
            staff = await queries.staff_with_id(session=session, staff_id=staff_id)
            return TwoFactorState(
                since=staff.two_factor_since,
                recovery_codes_left=await queries.recovery_codes_left(
                    session=session, staff_id=staff_id
                ),
            )

    async def start_two_factor(self, *, staff_id: int) -> str:
        """The secret being set up for this staff member (made the first time
        asked, kept encrypted until a code confirms it), to show them once
        more on their own signed-in page."""
        async with self._sessions.begin() as session:
            staff = await queries.staff_with_id(session=session, staff_id=staff_id)
            if staff.two_factor_since is not None:
                raise Conflict("two-factor sign-in is set up already")
            _, secret = await queries.totp_secrets_of(session=session, staff_id=staff_id)
            if secret is None:
                secret = two_factor.new_secret()
                await queries.set_pending_totp_secret(
                    session=session, staff_id=staff_id, secret=secret
                )
        return secret

    async def confirm_two_factor(self, *, staff_id: int, code: str) -> list[str]:
        """Turn two-factor sign-in on with a current code of the secret being
        set up; the new recovery codes, returned once and stored hashed."""
        now = utcnow()
        async with self._sessions.begin() as session:
            staff = await queries.staff_with_id(session=session, staff_id=staff_id)
            if staff.two_factor_since is not None:
                raise Conflict("two-factor sign-in is set up already")
            _, secret = await queries.totp_secrets_of(session=session, staff_id=staff_id)
            step = None if secret is None else two_factor.matching_step(secret, code)
            if secret is None or step is None:
                raise InvalidInput(
                    "that is not the code the authenticator shows now: "
                    "check the code and the device's clock, and try again"
                )
            codes = two_factor.new_recovery_codes()
            # The step that confirmed it is taken: that code does not sign in.
            await queries.turn_on_totp(
                session=session, staff_id=staff_id, secret=secret, step=step, now=now
            )
            await queries.delete_recovery_codes(session=session, staff_id=staff_id)
            queries.replace_recovery_codes(session=session, staff_id=staff_id, codes=codes, now=now)
            await audit.record(
                session=session,
                staff_id=staff_id,
                action="staff.2fa_setup",
                object_type="staff",
                object_id=str(staff_id),
                detail={"recovery_codes": len(codes)},
            )
        return codes

    async def reset_two_factor(self, *, staff_id: int, by_staff_id: int | None) -> Staff:
        """Turn a staff member's two-factor sign-in off (a lost phone): the
        secret and recovery codes go, and their sessions end; a role that
        must use it sets it up again at the next sign-in."""
        async with self._sessions.begin() as session:
            staff = await queries.staff_with_id(session=session, staff_id=staff_id)
            was_on = staff.two_factor_since is not None
            await queries.turn_off_totp(session=session, staff_id=staff_id)
            await queries.end_sessions_of(session=session, staff_id=staff_id)
            await audit.record(
                session=session,
                staff_id=by_staff_id,
                action="staff.2fa_reset",
                object_type="staff",
                object_id=str(staff_id),
                detail={"was_on": was_on},
            )
        return staff

    @staticmethod
    async def _lock(session: AsyncSession, staff_id: int, until: datetime) -> None:
        if await queries.lock_account(session=session, staff_id=staff_id, until=until):
            await audit.record(
                session=session,
                staff_id=None,
                action="staff.locked",
                object_type="staff",
                object_id=str(staff_id),
                detail={"until": until.isoformat()},
            )

    async def sign_out(self, *, token: str) -> None:
        async with self._sessions.begin() as session:
            staff_session = await queries.open_session(session=session, token=token)
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

    # API tokens

    async def create_api_token(
        self,
        *,
        username: str,
        name: str,
        lifetime: timedelta = queries.DEFAULT_TOKEN_LIFETIME,
        read_only: bool = False,
        by_staff_id: int | None = None,
    ) -> str:
        """A new token for an integration acting as `username`; returned once, stored hashed."""
        async with self._sessions.begin() as session:
            api_token, token = await queries.add_api_token(
                session=session,
                username=username,
                name=name,
                lifetime=lifetime,
                read_only=read_only,
            )
            await audit.record(
                session=session,
                staff_id=by_staff_id,
                action="token.create",
                object_type="api_token",
                object_id=str(api_token.id),
                detail={
                    "for_staff_id": api_token.staff_id,
                    "expires_at": api_token.expires_at.isoformat(),
                    "read_only": read_only,
                },
            )
        return token

    async def revoke_api_token(self, *, token_id: int, by_staff_id: int | None = None) -> None:
        async with self._sessions.begin() as session:
            api_token = await queries.api_token_with_id(session=session, token_id=token_id)
            if api_token.revoked_at is None:
                api_token.revoked_at = utcnow()
                await audit.record(
                    session=session,
                    staff_id=by_staff_id,
                    action="token.revoke",
                    object_type="api_token",
                    object_id=str(token_id),
                )
