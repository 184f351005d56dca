"""`hotline staff ...` against the real database, checked through the app's sign-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from api.cli import app
from core.settings import Settings, get_settings
from tests.support.console import sign_in

NEW_PASSWORD = "a much longer passphrase"


@pytest.fixture
def hotline(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The command, pointed at the test database and key."""
    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.hotline_database_url)
    assert settings.hotline_encryption_keys is not None
    monkeypatch.setenv(
        "HOTLINE_ENCRYPTION_KEYS", settings.hotline_encryption_keys.get_secret_value()
    )
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, ["staff", *args], input=stdin)


def test_add_then_sign_in_then_change_the_password(hotline: CliRunner, client: TestClient) -> None:
    added = run(
        hotline,
        "add",
        "somchai",
        "--role",
        "supervisor",
        "--name",
        "Somchai P.",
        "--password-stdin",
        stdin="first password 1\n",
    )
    assert added.exit_code == 0, added.output
    assert "added somchai (supervisor)" in added.output
    assert sign_in(client, "somchai", "first password 1").status_code == 303
    assert client.get("/api/me").json()["role"] == "supervisor"

    changed = run(hotline, "passwd", "somchai", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert changed.exit_code == 0, changed.output
    # The new password ends the old sessions.
    assert client.get("/api/me").status_code == 401
    assert sign_in(client, "somchai", "first password 1").status_code == 401
    assert sign_in(client, "somchai", NEW_PASSWORD).status_code == 303


def test_the_password_prompt_asks_twice(hotline: CliRunner, client: TestClient) -> None:
    mismatch = run(
        hotline,
        "add",
        "dara",
        "--role",
        "agent",
        "--name",
        "Dara",
        stdin="one password 1\nanother pass 2\none password 1\none password 1\n",
    )
    assert mismatch.exit_code == 0, mismatch.output
    assert "do not match" in mismatch.output.lower()
    assert sign_in(client, "dara", "one password 1").status_code == 303


def test_refusals_are_explained(hotline: CliRunner) -> None:
    short = run(
        hotline,
        "add",
        "dara",
        "--role",
        "agent",
        "--name",
        "D",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.exit_code == 1
    assert "at least 10 characters" in short.output
    bad_role = run(
        hotline,
        "add",
        "dara",
        "--role",
        "boss",
        "--name",
        "D",
        "--password-stdin",
        stdin=NEW_PASSWORD + "\n",
    )
    assert bad_role.exit_code == 2
    nobody = run(hotline, "passwd", "nobody", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert nobody.exit_code == 1
    run(
        hotline,
        "add",
        "dara",
        "--role",
        "agent",
        "--name",
        "D",
        "--password-stdin",
        stdin=NEW_PASSWORD + "\n",
    )
    again = run(
        hotline,
        "add",
        "dara",
        "--role",
        "agent",
        "--name",
        "D",
        "--password-stdin",
        stdin=NEW_PASSWORD + "\n",
    )
    assert again.exit_code == 1 and "taken" in again.output


def test_a_token_is_printed_once_and_works_until_revoked(
    hotline: CliRunner, client: TestClient
) -> None:
    run(
        hotline,
        "add",
        "partner",
        "--role",
        "agent",
        "--name",
        "Partner NGO",
        "--password-stdin",
        stdin=NEW_PASSWORD + "\n",
    )
    issued = run(hotline, "token", "partner", "case sync")
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip()
    assert token.startswith("hlt_") and len(token) > 40
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=headers).json()["username"] == "partner"

    listed = run(hotline, "tokens", "partner")
    assert token not in listed.output
    token_id, name, state, _, until, scope = listed.output.strip().split("\t")
    assert (name, state, scope) == ("case sync", "active", "full")
    assert until.startswith("until ")
    reading = run(hotline, "token", "partner", "dashboard", "--days", "7", "--read-only")
    assert reading.exit_code == 0, reading.output
    assert "\tread-only" in run(hotline, "tokens", "partner").output
    assert run(hotline, "revoke-token", token_id).exit_code == 0
    assert client.get("/api/me", headers=headers).status_code == 401
    assert "\trevoked\t" in run(hotline, "tokens", "partner").output


def test_list_shows_roles(hotline: CliRunner) -> None:
    for username, role in (("ana", "admin"), ("bo", "agent")):
        run(
            hotline,
            "add",
            username,
            "--role",
            role,
            "--name",
            username.title(),
            "--password-stdin",
            stdin=NEW_PASSWORD + "\n",
        )
    listed = run(hotline, "list").output.splitlines()
    assert listed == ["ana\tadmin\tactive\tAna", "bo\tagent\tactive\tBo"]
