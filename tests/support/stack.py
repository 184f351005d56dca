"""The whole hotline, started for real: the engine with its trained model,
the app, and a SQLite database, each engine and app a separate process as
in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from api import schema
from core.settings import PROJECT_ROOT
from tests.support import free_port, fresh_database_url

ENGINE_PYTHON = PROJECT_ROOT / ".venv-engine" / "bin" / "python"
APP_BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 240


@dataclass
class Stack:
    app_url: str
    engine_url: str
    database_url: str
    logs: Path
    model: Path
    token: str
    environment: dict[str, str]
    # Settings for the engine alone (where it reaches the app, say).
    engine_environment: dict[str, str] = field(default_factory=dict)
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)


def start_engine_process(stack: Stack) -> subprocess.Popen[bytes]:
    port = stack.engine_url.rsplit(":", 1)[1]
    with (stack.logs / "engine.log").open("ab") as engine_out:
        process = subprocess.Popen(
            [
                str(ENGINE_PYTHON), "-m", "rasa", "run", "--enable-api",
                f"--auth-token={stack.token}", "--interface", "127.0.0.1",
                "--port", port, "--model", str(stack.model),
                "--endpoints", "flows/endpoints.yml",
                "--credentials", "flows/credentials.yml",
            ],
            cwd=PROJECT_ROOT,
            env={**stack.environment, **stack.engine_environment},
            stdout=engine_out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    stack.started.append(process)
    return process


def trained_model() -> Path:
    """The model for the current training data (trained now if missing)."""
    result = subprocess.run(
        [str(ENGINE_PYTHON), str(PROJECT_ROOT / "scripts" / "model.py"), "path"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(result.stdout.strip().splitlines()[-1])


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running_stack(
    workdir: Path,
    *,
    token: str = "integration-token",
    environment: dict[str, str] | None = None,
    engine_environment: dict[str, str] | None = None,
    start_engine: bool = True,
) -> Iterator[Stack]:
    """Engine and app as separate processes; `start_engine=False` leaves the
    engine down (start it later with `start_engine_process`)."""
    model = trained_model()
    app_port, engine_port = free_port(), free_port()
    database_url = fresh_database_url(workdir)
    schema.upgrade(database_url)
    app_url = f"http://127.0.0.1:{app_port}"
    engine_url = f"http://127.0.0.1:{engine_port}"
    environment = {
        **os.environ,
        # Files workers send stay with this run, not in the project's data/.
        "HOTLINE_ATTACHMENTS_DIR": str(workdir / "attachments"),
        "HOTLINE_INBOX_DIR": str(workdir / "inbox"),
        "HOTLINE_ENVIRONMENT": "development",
        **(environment or {}),
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_PORT": str(app_port),
        "HOTLINE_APP_URL": app_url,
        "HOTLINE_ENGINE_TOKEN": token,
        "RASA_URL": engine_url,
        "PYTHONPATH": str(PROJECT_ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    engine_log = workdir / "engine.log"
    app_log = workdir / "app.log"
    stack = Stack(
        app_url=app_url,
        engine_url=engine_url,
        database_url=database_url,
        logs=workdir,
        model=model,
        token=token,
        environment=environment,
        engine_environment=engine_environment or {},
    )
    if start_engine:
        start_engine_process(stack)
    start_app_process(stack)
    try:
        _wait_until_healthy(
            app_url, stack.started, [engine_log, app_log], engine_expected=start_engine
        )
        yield stack
    finally:
        stop_processes(stack)


def start_app_process(stack: Stack) -> subprocess.Popen[bytes]:
    with (stack.logs / "app.log").open("ab") as app_out:
        process = subprocess.Popen(
            [str(APP_BIN / "hotline"), "serve"],
            cwd=PROJECT_ROOT,
            env=stack.environment,
            stdout=app_out,
            stderr=subprocess.STDOUT,
        )
    stack.started.append(process)
    return process


def stop_processes(stack: Stack) -> None:
    """Stop every process the stack started, as a deployment stops them."""
    for process in stack.started:
        process.terminate()
    for process in stack.started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
    stack.started.clear()


def restart(stack: Stack) -> None:
    """The whole hotline stopped and started again on the same database and
    ports, as after an upgrade: nothing is kept in any process's memory."""
    stop_processes(stack)
    start_engine_process(stack)
    start_app_process(stack)
    _wait_until_healthy(
        stack.app_url, stack.started, [stack.logs / "engine.log", stack.logs / "app.log"]
    )


def _wait_until_healthy(
    app_url: str,
    processes: list[subprocess.Popen[bytes]],
    logs: list[Path],
    *,
    engine_expected: bool = True,
) -> None:
    """Until /healthz says 200 (or, with the engine left down, answers at all)."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(
                    "a process stopped during start-up:\n"
                    + "\n".join(f"--- {log.name}\n{_tail(log)}" for log in logs)
                )
        try:
            status = httpx.get(f"{app_url}/healthz", timeout=2).status_code
            if status == 200 or not engine_expected:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("the hotline did not become healthy in time")
