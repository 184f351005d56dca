"""The dialogue's conversation tests (flows/tests) pass with the trained model.

`rasa test core` does not run the custom actions: each story says what
they set, and the engine must predict every step, forms included.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def trained_model() -> Path:
    # The model cached for the current training data (trained if missing).
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "model.py"), "path"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(result.stdout.strip().splitlines()[-1])


def test_conversation_stories_pass_without_a_prediction_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa",
            "test",
            "core",
            "--model",
            str(trained_model()),
            "--stories",
            "flows/tests",
            "--fail-on-prediction-errors",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True,
        text=True,
    )
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, detail[-4000:] + result.stdout[-2000:] + result.stderr[-3000:]
    assert "conversations" not in detail or "None of the test stories failed" in detail
