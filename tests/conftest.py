"""Shared fixtures: a real database migrated with Alembic, the app under test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import schema
from api.app import create_app
from core.settings import Settings
from tests.fakes import line_api as line_fake
from tests.fakes import telegram_api as telegram_fake
from tests.fakes.line_api import FakeLine
from tests.fakes.telegram_api import FakeTelegram
from tests.support import (
    TEST_ENCRYPTION_KEY,
    closed_port,
    drop_database,
    fresh_database_url,
)
from tests.support.stack import Stack, running_stack

ENGINE_TOKEN = "test-engine-token"
# Every test's web chat comes from one address: the limits on anonymous
# traffic are wide open except in the tests of the limits themselves.
OPEN_WEBCHAT = {
    "hotline_webchat_address_burst": 100_000,
    "hotline_webchat_address_messages_per_minute": 100_000.0,
    "hotline_webchat_burst": 100_000,
    "hotline_webchat_messages_per_minute": 100_000.0,
    "hotline_webchat_address_polls_per_minute": 100_000.0,
}

# Supervisors and admins must set up two-factor sign-in before using the
# console; the suite signs them in with passwords alone, except in the tests
# of two-factor sign-in, which ask for it (tests/api/console/test_two_factor.py).
NO_TWO_FACTOR = {"hotline_totp_required_roles": ""}

# The engine's own tests run in the engine's environment (Python 3.10).
collect_ignore = ["engine"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that read the run's logs go last, when every other test has written to them."""
    items.sort(key=lambda item: item.get_closest_marker("after_everything") is not None)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    url = fresh_database_url(tmp_path)
    schema.upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def fake_line() -> Iterator[FakeLine]:
    server = FakeLine().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture
def line_api(fake_line: FakeLine) -> FakeLine:
    fake_line.reset()
    return fake_line


@pytest.fixture
def telegram_api(fake_telegram: FakeTelegram) -> FakeTelegram:
    fake_telegram.reset()
    return fake_telegram


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, line_api: FakeLine, telegram_api: FakeTelegram
) -> Settings:
    # No engine listens on this port: these tests see the app alone, as
    # when the engine is down. LINE and Telegram are the local stand-ins.
    return Settings(
        hotline_database_url=database_url,
        rasa_url=f"http://127.0.0.1:{closed_port()}",
        hotline_engine_token=ENGINE_TOKEN,
        hotline_engine_timeout_seconds=2.0,
        hotline_attachments_dir=tmp_path / "attachments",
        hotline_inbox_dir=tmp_path / "inbox",
        hotline_encryption_keys=TEST_ENCRYPTION_KEY,
        hotline_delivery_base_delay_seconds=0.05,
        hotline_delivery_attempts=4,
        line_channel_secret=line_fake.CHANNEL_SECRET,
        line_channel_access_token=line_fake.ACCESS_TOKEN,
        line_api_base_url=line_api.url,
        telegram_bot_token=telegram_fake.BOT_TOKEN,
        telegram_webhook_secret=telegram_fake.WEBHOOK_SECRET,
        telegram_api_base_url=telegram_api.url,
        **OPEN_WEBCHAT,
        **NO_TWO_FACTOR,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def channel_environment(line: FakeLine, telegram: FakeTelegram) -> dict[str, str]:
    return {
        "LINE_CHANNEL_SECRET": line_fake.CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": line_fake.ACCESS_TOKEN,
        "LINE_API_BASE_URL": line.url,
        "TELEGRAM_BOT_TOKEN": telegram_fake.BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": telegram_fake.WEBHOOK_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "HOTLINE_DELIVERY_BASE_DELAY_SECONDS": "0.1",
        "HOTLINE_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "HOTLINE_DELIVERY_SWEEP_SECONDS": "2",
        **{name.upper(): str(value) for name, value in {**OPEN_WEBCHAT, **NO_TWO_FACTOR}.items()},
    }


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, fake_line: FakeLine, fake_telegram: FakeTelegram
) -> Iterator[Stack]:
    """The real engine and app, started once for the tests that need them,
    with LINE and Telegram pointed at their stand-ins."""
    environment = channel_environment(fake_line, fake_telegram)
    with running_stack(tmp_path_factory.mktemp("stack"), environment=environment) as running:
        yield running
