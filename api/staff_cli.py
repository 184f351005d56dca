"""`hotline staff ...`: staff accounts and API tokens from the command line."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, TypeVar

import typer

from bot.staff.models import Role
from bot.staff.service import LoginPolicy, StaffAccounts
from core.database import create_engine, create_sessionmaker
from core.errors import HotlineError, NotFound
from core.settings import get_settings

staff_app = typer.Typer(help="Staff accounts and API tokens.", no_args_is_help=True)

T = TypeVar("T")

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="read the password from the first line of stdin"),
]


def _in_database(work: Callable[[StaffAccounts], Awaitable[T]]) -> T:
    settings = get_settings()

    async def run() -> T:
        database = create_engine(settings.hotline_database_url, settings.vault())
        accounts = StaffAccounts(
            sessions=create_sessionmaker(database), policy=LoginPolicy.from_settings(settings)
        )
        try:
            return await work(accounts)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except HotlineError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@staff_app.command("add")
def staff_add(
    username: str,
    role: Annotated[Role, typer.Option("--role", help="agent, supervisor or admin")],
    name: Annotated[str, typer.Option("--name", help="the name other staff see")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a staff member who signs in to the console."""
    password = _read_password(password_stdin)

    async def add(accounts: StaffAccounts) -> None:
        await accounts.create_staff(
            username=username, display_name=name, role=role, password=password
        )

    _in_database(add)
    typer.echo(f"added {username} ({role.value})")


@staff_app.command("passwd")
def staff_passwd(username: str, password_stdin: PasswordStdin = False) -> None:
    """Set a staff member's password; their open console sessions end."""
    password = _read_password(password_stdin)

    async def change(accounts: StaffAccounts) -> None:
        await accounts.change_password(username=username, password=password)

    _in_database(change)
    typer.echo(f"password changed for {username}")


@staff_app.command("token")
def staff_token(
    username: str,
    name: Annotated[str, typer.Argument(help="what the token is for, e.g. the integration")],
    days: Annotated[int, typer.Option(help="days until it stops working (1 to 365)")] = 90,
    read_only: Annotated[bool, typer.Option("--read-only", help="it may only read")] = False,
) -> None:
    """Print a new API token acting as USERNAME. It is shown once and stored only hashed;
    it stops working after DAYS, when revoked, or when USERNAME's password changes."""

    async def create(accounts: StaffAccounts) -> str:
        return await accounts.create_api_token(
            username=username, name=name, lifetime=timedelta(days=days), read_only=read_only
        )

    typer.echo(_in_database(create))


@staff_app.command("revoke-token")
def staff_revoke_token(token_id: int) -> None:
    """Stop an API token from working (see `staff tokens` for ids)."""

    async def revoke(accounts: StaffAccounts) -> None:
        await accounts.revoke_api_token(token_id=token_id)

    _in_database(revoke)
    typer.echo(f"token {token_id} revoked")


@staff_app.command("tokens")
def staff_tokens(username: str) -> None:
    """List a staff member's API tokens (ids and names; the tokens themselves are not kept)."""

    async def tokens(accounts: StaffAccounts) -> list[str]:
        found = await accounts.api_tokens_of(username)
        return [
            f"{token.id}\t{token.name}\t"
            f"{'revoked' if token.revoked_at else 'active'}\t{token.created_at:%Y-%m-%d}\t"
            f"until {token.expires_at:%Y-%m-%d}\t{'read-only' if token.read_only else 'full'}"
            for token in found
        ]

    for line in _in_database(tokens):
        typer.echo(line)


@staff_app.command("reset-2fa")
def staff_reset_two_factor(username: str) -> None:
    """Turn USERNAME's two-factor sign-in off (a lost phone): their sessions end,
    and a role that must use it sets it up again at the next sign-in."""

    async def reset(accounts: StaffAccounts) -> None:
        staff_id = await accounts.staff_id_named(username)
        if staff_id is None:
            raise NotFound("no staff member '%(username)s'", username=username)
        await accounts.reset_two_factor(staff_id=staff_id, by_staff_id=None)

    _in_database(reset)
    typer.echo(f"two-factor sign-in of {username} reset")


@staff_app.command("list")
def staff_list() -> None:
    """Every staff member with role and state."""

    async def members(accounts: StaffAccounts) -> list[str]:
        return [
            f"{staff.username}\t{staff.role}\t{'active' if staff.active else 'deactivated'}\t"
            f"{staff.display_name}"
            for staff in await accounts.all_staff()
        ]

    for line in _in_database(members):
        typer.echo(line)
