"""Running a small ASGI app on a free local port in a background thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Self

import uvicorn
from fastapi import FastAPI

from tests.support import free_port


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Failure:
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0


class FakeServer:
    """A stand-in platform: records requests, fails on request."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self._failures: dict[str, list[Failure]] = {}
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stand-in server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    def record(self, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        with self._lock:
            self.requests.append(Recorded(method, path, headers, body))

    def fail(self, endpoint: str, status: int, *, times: int = 1, **kwargs: Any) -> None:
        """The next `times` calls to `endpoint` (a path suffix) get `status`."""
        with self._lock:
            self._failures.setdefault(endpoint, []).append(Failure(status, times, **kwargs))

    def next_failure(self, path: str) -> Failure | None:
        with self._lock:
            for endpoint, failures in self._failures.items():
                if path.endswith(endpoint) and failures:
                    failure = failures[0]
                    failure.times -= 1
                    if failure.times <= 0:
                        failures.pop(0)
                    return failure
        return None

    def calls(self, endpoint: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith(endpoint)]

    def wait_for(self, endpoint: str, count: int = 1, timeout: float = 30.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.calls(endpoint)
            if len(calls) >= count:
                return calls
            time.sleep(0.05)
        raise AssertionError(f"expected {count} calls to {endpoint}, got {self.calls(endpoint)}")
