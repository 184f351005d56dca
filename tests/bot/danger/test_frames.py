"""The frames the danger model's second stage reads, and what its cache depends on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.danger import model as danger_model
from bot.danger.frames import FRAMES_FILE, Frames
from core.settings import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "flows" / "content"
NLU_DATA = PROJECT_ROOT / "nlu" / "data"


def test_latin_markers_are_whole_words_and_other_scripts_parts_of_the_text() -> None:
    frames = Frames({"question": ["if", "what number", "ถ้า"], "joke": ["555", "😂"]})
    assert frames.found("if he comes what number do i call") == ["question"]
    assert frames.found("my wife is fine") == []
    assert frames.found("ถ้าไฟไหม้โทรหาใคร") == ["question"]
    assert frames.found("ot again 555555 😂") == ["joke"]
    assert frames.found("call 1555") == []


def test_the_frames_file_is_well_formed() -> None:
    frames = Frames.from_file(CONTENT / FRAMES_FILE)
    assert {"past", "over", "question", "joke", "now"} <= set(frames.names)
    assert frames.vector("hello").shape == (len(frames.names),)


def test_the_cache_key_changes_with_the_frames_and_the_model_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT / danger_model.DATA_FOLDER, content / danger_model.DATA_FOLDER)
    shutil.copy(CONTENT / FRAMES_FILE, content / FRAMES_FILE)
    key = danger_model.cache_key(content, NLU_DATA)
    with (content / FRAMES_FILE).open("a", encoding="utf-8") as file:
        file.write("extra:\n  en: [whatever]\n")
    changed = danger_model.cache_key(content, NLU_DATA)
    assert changed != key
    monkeypatch.setattr(danger_model, "MODEL_VERSION", danger_model.MODEL_VERSION + 1)
    assert danger_model.cache_key(content, NLU_DATA) != changed
