"""The engine's trained model, trained only when its inputs changed.

The model is named by a fingerprint of everything training reads (pipeline,
domain, rules, training data, the project's own NLU components and the
engine's pinned requirements) and kept in a cache outside the work tree, so
a fresh clone on the same machine reuses it.

    python scripts/model.py path    # print the model's path, training first if needed
    python scripts/model.py fingerprint

Runs with the engine's Python (stdlib only, plus Rasa for training).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUTS = [
    ROOT / "nlu" / "config.yml",
    ROOT / "flows" / "domain.yml",
    ROOT / "flows" / "data",
    ROOT / "nlu" / "data",
    ROOT / "nlu",  # the components' code (*.py)
    ROOT / "requirements-engine.txt",
]
TRAINING_DATA = [ROOT / "nlu" / "data", ROOT / "flows" / "data"]


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hotline" / "models"
    return Path(os.environ.get("HOTLINE_MODEL_CACHE", default))


def _files() -> list[Path]:
    files: set[Path] = set()
    for path in INPUTS:
        if path.is_file():
            files.add(path)
        elif path == ROOT / "nlu":
            files.update(path.glob("*.py"))
        else:
            files.update(
                p for p in path.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml")
            )
    return sorted(files)


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in _files():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return cache_dir() / f"hotline-{fingerprint()}.tar.gz"


def train(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    work = ROOT / "models"
    work.mkdir(exist_ok=True)
    name = target.name[: -len(".tar.gz")]
    print(f"Training the engine's model ({name}); this takes a few minutes...", flush=True)
    started = time.monotonic()
    command = [
        sys.executable, "-m", "rasa", "train",
        "--config", str(ROOT / "nlu" / "config.yml"),
        "--domain", str(ROOT / "flows" / "domain.yml"),
        "--data", *[str(path) for path in TRAINING_DATA],
        "--out", str(work),
        "--fixed-model-name", name,
    ]  # fmt: skip
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    subprocess.run(command, cwd=ROOT, env=environment, check=True)
    built = work / target.name
    # Copy then rename, so a half-written model is never found by name.
    partial = target.with_suffix(".partial")
    shutil.copyfile(built, partial)
    partial.replace(target)
    print(f"Model trained in {time.monotonic() - started:.0f} s: {target}", flush=True)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "path"
    if command == "fingerprint":
        print(fingerprint())
        return 0
    if command == "path":
        target = model_path()
        if target.exists():
            print(f"Model up to date ({target.name}); not retraining.", file=sys.stderr)
        else:
            train(target)
        print(target)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
