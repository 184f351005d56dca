"""Latin-letter typing: English told apart from romanised Burmese, Khmer, Lao."""

from collections import Counter
from pathlib import Path

import pytest

from bot.evaluation import load_examples
from bot.latin_language import LatinLanguageModel, is_latin_text
from core.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def model() -> LatinLanguageModel:
    return LatinLanguageModel.from_training_data(PROJECT_ROOT / "nlu" / "data")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("mingalaba", "my"),
        ("lr ma pay buu", "my"),
        ("chom reap sour", "km"),
        ("sabaidee", "lo"),
        ("my boss not pay me 2 month", "en"),
    ],
)
def test_known_phrases(model: LatinLanguageModel, text: str, language: str) -> None:
    guess = model.guess(text)
    assert guess is not None and guess.language == language


def test_too_short_or_not_latin_gives_no_answer(model: LatinLanguageModel) -> None:
    assert model.guess("ok") is None
    assert model.guess("สวัสดี") is None
    assert model.guess("1546") is None
    assert not is_latin_text("boss ไม่จ่าย")


def test_held_out_latin_and_english_messages(model: LatinLanguageModel) -> None:
    # Messages written apart from the training data: the model must be right
    # on most, and when it is not sure it says nothing rather than guess.
    examples = [
        example
        for example in load_examples([PROJECT_ROOT / "tests" / "data" / "heldout"])
        if is_latin_text(example.text) and example.subset != "zawgyi"
    ]
    outcomes: Counter[str] = Counter()
    for example in examples:
        guess = model.guess(example.text)
        if guess is None:
            outcomes["unsure"] += 1
        elif guess.language == example.lang:
            outcomes["right"] += 1
        else:
            outcomes["wrong"] += 1
    total = sum(outcomes.values())
    assert total > 500
    assert outcomes["right"] / total >= 0.88, outcomes
    assert outcomes["wrong"] / total <= 0.06, outcomes


def test_model_reads_annotated_examples_as_plain_text(tmp_path: Path) -> None:
    folder = tmp_path / "en"
    folder.mkdir()
    (folder / "x.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: a\n  examples: |\n'
        '    - wages in [Ranong]{"entity": "province", "value": "Ranong"} please\n',
        encoding="utf-8",
    )
    model = LatinLanguageModel.from_training_data(tmp_path)
    guess = model.guess("wages please")
    assert guess is not None and guess.language == "en"
