"""Tests of the engine's own components, run in the engine's environment."""

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage


@pytest.fixture
def default_model_storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage.create(tmp_path)


@pytest.fixture
def default_execution_context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "hotline-test")
