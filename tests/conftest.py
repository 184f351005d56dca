"""Shared fixtures: a real database migrated with Alembic, the app under test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import schema
from api.app import create_app
from api.settings import Settings
from tests.stack import Stack, running_stack
from tests.support import closed_port

ENGINE_TOKEN = "test-engine-token"

# The engine's own tests run in the engine's environment (Python 3.10).
collect_ignore = ["engine"]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    schema.upgrade(url)
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    # No engine listens on this port: these tests see the app alone, as
    # when the engine is down.
    return Settings(
        hotline_database_url=database_url,
        rasa_url=f"http://127.0.0.1:{closed_port()}",
        hotline_engine_token=ENGINE_TOKEN,
        hotline_engine_timeout_seconds=2.0,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real engine and app, started once for the tests that need them."""
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running
