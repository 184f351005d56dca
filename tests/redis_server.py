"""A Redis server of the tests' own, on a free port, with nothing kept on disk.

Standard library only: the engine's tests (in the engine's Python) use it
as well as the app's.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def running_redis(workdir: Path, database: int = 0) -> Iterator[str]:
    """A `redis://` URL to a fresh server, stopped afterwards."""
    server = shutil.which("redis-server")
    assert server, "redis-server is installed by .ci/run"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/{database}"
    finally:
        process.terminate()
        process.wait(timeout=10)
