"""The whole hotline started for a benchmark, as in production.

The engine with the trained model and the app, each its own process, on a
SQLite database in a fresh folder, with the LINE and Telegram stand-ins
(`tests/fakes`) that the real SDKs are pointed at. Shared by the soak and
load benchmarks, with what both need besides: workers' messages from the
held-out set, signed webhooks, percentiles and process memory.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api import schema  # noqa: E402
from bot.danger import DangerDetector  # noqa: E402
from bot.normalise import normalise  # noqa: E402
from core.database import sync_url  # noqa: E402
from tests.fakes import line_api, telegram_api  # noqa: E402
from tests.fakes.line_api import FakeLine, sign  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.support import (  # noqa: E402
    TEST_ENCRYPTION_KEY,
    drop_database,
    free_port,
    fresh_database_url,
)
from tests.support.stack import ENGINE_PYTHON, trained_model  # noqa: E402

APP_PYTHON = Path(sys.executable)
ENGINE_TOKEN = "bench-token"
# Messages whose answer hands the worker to staff (the bot then stays silent
# by design) are left out: the benchmarks measure the bot's own answers.
RIGHTS_QUESTIONS = (
    "ask_wage_info",
    "ask_working_hours",
    "ask_documents",
    "ask_change_employer",
    "ask_social_security",
    "ask_fishing_rights",
    "ask_hotlines",
    "ask_dismissal",
)
STEADY_INTENTS = frozenset({"greet", "thanks", "goodbye", *RIGHTS_QUESTIONS})


def heldout_messages(*, include_zawgyi: bool = True) -> list[dict[str, Any]]:
    """Held-out messages of the steady intents that raise no danger alarm.

    Each item as written in `tests/data/heldout/*.yml` (`text`, `intent`,
    `lang`, sometimes `script`), with the file's name as `set`.
    """
    danger = DangerDetector.from_content(ROOT / "flows" / "content", ROOT / "nlu" / "data")
    found = []
    for path in sorted((ROOT / "tests" / "data" / "heldout").glob("*.yml")):
        if not include_zawgyi and "zawgyi" in path.stem:
            continue
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            if (
                item["intent"] in STEADY_INTENTS
                and not danger.assess(normalise(item["text"]).text).alarm
            ):
                found.append({**item, "set": path.stem})
    return found


def steady_messages() -> list[str]:
    return [item["text"] for item in heldout_messages()]


def _status_kib(pid: int, field_name: str) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    return 0


def rss_kib(pid: int) -> int:
    """Resident memory now."""
    return _status_kib(pid, "VmRSS")


def peak_rss_kib(pid: int) -> int:
    """The most resident memory the process has had since it started."""
    return _status_kib(pid, "VmHWM")


def cpu_seconds(pid: int) -> float:
    """Processor time the process has used so far (user and system)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def line_headers(body: bytes) -> dict[str, str]:
    """Headers of a webhook as LINE sends it, signed with the channel secret."""
    return {"content-type": "application/json", "x-line-signature": sign(body)}


def telegram_headers() -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-telegram-bot-api-secret-token": telegram_api.WEBHOOK_SECRET,
    }


async def wait_healthy(url: str, timeout: float = 300) -> float:
    """Seconds until the app's /healthz (which asks the engine) says 200."""
    start = time.monotonic()
    async with httpx.AsyncClient(timeout=3) as client:
        while time.monotonic() - start < timeout:
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the hotline did not become healthy")


def database_counts(database_url: str) -> dict[str, Any]:
    """Inbound messages (channel, platform id, status), outbound rows per
    worker and status, and the platform events recorded."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            inbound = connection.execute(
                text(
                    "SELECT w.channel, m.platform_message_id, m.status FROM messages m "
                    "JOIN conversations c ON c.id = m.conversation_id "
                    "JOIN workers w ON w.id = c.worker_id WHERE m.direction = 'inbound'"
                )
            ).all()
            outbound = connection.execute(
                text(
                    "SELECT w.channel_user_id, m.status, count(*) FROM messages m "
                    "JOIN conversations c ON c.id = m.conversation_id "
                    "JOIN workers w ON w.id = c.worker_id WHERE m.direction = 'outbound' "
                    "GROUP BY w.channel_user_id, m.status"
                )
            ).all()
            events = connection.execute(text("SELECT channel, event_id FROM channel_events")).all()
    finally:
        engine.dispose()
    return {"inbound": inbound, "outbound": outbound, "events": events}


@dataclass
class Processes:
    """The engine and the app as separate processes, each restartable."""

    workdir: Path
    environment: dict[str, str]
    model: Path
    engine_port: int
    app: subprocess.Popen[bytes] | None = None
    engine: subprocess.Popen[bytes] | None = None

    def start_engine(self) -> None:
        log = (self.workdir / "engine.log").open("ab")
        self.engine = subprocess.Popen(
            [
                str(ENGINE_PYTHON), "-m", "rasa", "run", "--enable-api",
                f"--auth-token={self.environment['HOTLINE_ENGINE_TOKEN']}",
                "--interface", "127.0.0.1", "--port", str(self.engine_port),
                "--model", str(self.model), "--endpoints", "flows/endpoints.yml",
                "--credentials", "flows/credentials.yml",
            ],
            cwd=ROOT, env=self.environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def start_app(self) -> None:
        log = (self.workdir / "app.log").open("ab")
        self.app = subprocess.Popen(
            [str(APP_PYTHON.parent / "hotline"), "serve"],
            cwd=ROOT,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    @staticmethod
    def stop(process: subprocess.Popen[bytes] | None) -> None:
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class RunningHotline:
    workdir: Path
    database_url: str
    app_url: str
    engine_url: str
    processes: Processes
    line: FakeLine
    telegram: FakeTelegram | None = None
    postgres: str | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def app_pid(self) -> int:
        assert self.processes.app is not None
        return self.processes.app.pid

    @property
    def engine_pid(self) -> int:
        assert self.processes.engine is not None
        return self.processes.engine.pid

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.processes.stop(self.processes.app)
        self.processes.stop(self.processes.engine)
        self.line.stop()
        if self.telegram is not None:
            self.telegram.stop()
        drop_database(self.database_url, server=self.postgres)


async def start_hotline(
    *,
    prefix: str,
    line: FakeLine | None = None,
    telegram: bool = True,
    environment: dict[str, str] | None = None,
    postgres: str | None = None,
) -> RunningHotline:
    """Engine, app and stand-ins started, and the app healthy (engine up).

    `line`: a LINE stand-in to use instead of a plain one (not started yet);
    `telegram=False` leaves Telegram off; `environment` adds or overrides
    the app's and engine's settings.
    """
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    line = (line or FakeLine()).start()
    fake_telegram = FakeTelegram().start() if telegram else None
    # SQLite by default, as `make run`; a PostgreSQL server, as in production,
    # when one is named (a fresh database is made on it and dropped after).
    database_url = fresh_database_url(workdir, server=postgres)
    schema.upgrade(database_url)
    app_port, engine_port = free_port(), free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    settings = {
        **os.environ,
        "HOTLINE_ENVIRONMENT": "development",
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_PORT": str(app_port),
        "HOTLINE_APP_URL": app_url,
        "HOTLINE_ENGINE_TOKEN": ENGINE_TOKEN,
        "HOTLINE_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "HOTLINE_ATTACHMENTS_DIR": str(workdir / "attachments"),
        "HOTLINE_INBOX_DIR": str(workdir / "inbox"),
        "RASA_URL": f"http://127.0.0.1:{engine_port}",
        "LINE_CHANNEL_SECRET": line_api.CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": line_api.ACCESS_TOKEN,
        "LINE_API_BASE_URL": line.url,
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    if fake_telegram is not None:
        settings |= {
            "TELEGRAM_BOT_TOKEN": telegram_api.BOT_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": telegram_api.WEBHOOK_SECRET,
            "TELEGRAM_API_BASE_URL": fake_telegram.url,
        }
    settings |= environment or {}
    processes = Processes(workdir, settings, trained_model(), engine_port)
    hotline = RunningHotline(
        workdir=workdir,
        database_url=database_url,
        app_url=app_url,
        engine_url=settings["RASA_URL"],
        processes=processes,
        line=line,
        telegram=fake_telegram,
        postgres=postgres,
    )
    try:
        processes.start_engine()
        processes.start_app()
        await wait_healthy(app_url)
    except BaseException:
        hotline.stop()
        raise
    return hotline
