"""The `hotline` command's reports."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app


def test_content_report_counts_messages_per_language() -> None:
    result = CliRunner().invoke(app, ["content", "report"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:6]}
    assert set(rows) == {"my", "km", "lo", "th", "en"}
    assert rows["en"][1:] == ["0", "0"]  # the source: nothing missing or to review
    assert int(rows["my"][2]) > 0  # machine-drafted, awaiting review
    assert all(row[1] == "0" for row in rows.values())
    # The staff console's Thai: complete, every entry a draft to review.
    [console] = [line.split()[1:] for line in lines if line.startswith("console-th")]
    assert console[1] == "0" and console[2] == console[0] != "0"
    assert "facts as of 2026-11-25" in result.output


def test_evaluate_refuses_a_bad_file_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("{}")
    result = CliRunner().invoke(app, ["nlu", "evaluate", "--data", str(bad)])
    assert result.exit_code == 2


def test_retention_run_reports_what_it_removed(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.settings import get_settings
    from tests.support import TEST_ENCRYPTION_KEY

    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
    monkeypatch.setenv("HOTLINE_ATTACHMENTS_DIR", str(tmp_path / "files"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["retention", "run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "removed 0 workers, 0 conversations, 0 messages, 0 attachments, 0 cases" in result.output


def test_serving_needs_the_environment_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Development (a key in a file, the API pages, cookies without Secure)
    is never what a server gets by leaving the setting out."""
    from core.settings import get_settings

    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "HOTLINE_ENVIRONMENT is not set" in result.output
