"""The engine's model is trained only when what training reads has changed."""

import shutil
import subprocess
from pathlib import Path

from core.settings import PROJECT_ROOT
from tests.support.stack import ENGINE_PYTHON

MODEL_SCRIPT = PROJECT_ROOT / "scripts" / "model.py"


def run_model_script(script: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ENGINE_PYTHON), str(script), *arguments],
        capture_output=True,
        text=True,
        check=True,
    )


def test_an_unchanged_project_reuses_its_model() -> None:
    first = run_model_script(MODEL_SCRIPT, "path")
    second = run_model_script(MODEL_SCRIPT, "path")
    assert "not retraining" in second.stderr
    assert "Training" not in second.stdout
    model = Path(second.stdout.strip().splitlines()[-1])
    assert model.exists()
    assert first.stdout.strip().splitlines()[-1] == str(model)


def copy_of_the_engine_inputs(target: Path) -> Path:
    for folder in ("nlu", "flows", "scripts"):
        shutil.copytree(PROJECT_ROOT / folder, target / folder)
    shutil.copy(PROJECT_ROOT / "requirements-engine.txt", target)
    return target / "scripts" / "model.py"


def test_a_changed_training_example_or_component_changes_the_fingerprint(tmp_path: Path) -> None:
    script = copy_of_the_engine_inputs(tmp_path)
    original = run_model_script(script, "fingerprint").stdout.strip()
    assert original == run_model_script(MODEL_SCRIPT, "fingerprint").stdout.strip()

    data = tmp_path / "nlu" / "data" / "en" / "control.yml"
    data.write_text(data.read_text(encoding="utf-8") + "\n# changed\n")
    changed_data = run_model_script(script, "fingerprint").stdout.strip()
    assert changed_data != original

    tokenizer = tmp_path / "nlu" / "tokenizer.py"
    tokenizer.write_text(tokenizer.read_text(encoding="utf-8") + "\n# changed\n")
    changed_code = run_model_script(script, "fingerprint").stdout.strip()
    assert changed_code not in (original, changed_data)

    # Files training does not read leave the fingerprint alone.
    (tmp_path / "flows" / "responses.yml").write_text("# changed\n")
    (tmp_path / "scripts" / "run").write_text("# changed\n")
    assert run_model_script(script, "fingerprint").stdout.strip() == changed_code
