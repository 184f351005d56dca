"""The danger detector, measured on its own held-out set, and what its signals mean.

The held-out messages (`tests/data/danger/`) were written apart from the
detector's training data (`flows/content/danger/`) and are never trained on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from bot.danger import DangerDetector, Level, Signal, Thresholds
from bot.danger import evaluation as danger_evaluation
from bot.danger.model import Example, read_examples, training_examples
from bot.language import LANGUAGES
from bot.normalise import normalise
from core.settings import PROJECT_ROOT
from tests.support.danger import context_pair

HELDOUT = PROJECT_ROOT / "tests" / "data" / "danger"
CONTENT = PROJECT_ROOT / "flows" / "content"
NLU_DATA = PROJECT_ROOT / "nlu" / "data"
URGENT_SITUATIONS = {
    "violence",
    "confined",
    "sea",
    "injury",
    "sexual",
    "taken",
    "threat_kill",
    "suicide",
    "hidden",
    "fire",
}
HARD_NEGATIVES = {"past_harm", "hyperbole", "numbers_question", "treated"}


@pytest.fixture(scope="module")
def detector() -> DangerDetector:
    return DangerDetector.from_content(CONTENT, NLU_DATA)


@pytest.fixture(scope="module")
def heldout() -> list[Example]:
    return danger_evaluation.load([HELDOUT])


def _key(text: str) -> str:
    """A message stripped of what does not make it another message."""
    return re.sub(r"[\W_]+", "", normalise(text).text.lower())


def test_the_heldout_set_covers_every_language_situation_and_style(
    heldout: list[Example],
) -> None:
    for language in LANGUAGES:
        mine = [e for e in heldout if e.lang == language]
        urgent = [e for e in mine if e.urgent]
        calm = [e for e in mine if not e.urgent]
        assert len(urgent) >= 40 and len(calm) >= 30, language
        assert {e.situation for e in urgent} == URGENT_SITUATIONS, language
        assert {e.situation for e in calm} >= HARD_NEGATIVES, language
        # As workers write: in Latin letters (broken English for English)
        # and mixed with Thai or English, besides their own script.
        assert {"script", "mixed"} <= {e.style for e in mine}, language
        assert {"latin", "broken"} & {e.style for e in mine}, language
    zawgyi = [e for e in heldout if e.style == "zawgyi"]
    assert zawgyi and all(e.lang == "my" for e in zawgyi)


def test_the_heldout_set_is_kept_apart_from_the_training_data(heldout: list[Example]) -> None:
    trained_on = {_key(e.text) for e in training_examples(CONTENT, NLU_DATA)}
    shared = [e.text for e in heldout if _key(e.text) in trained_on]
    assert shared == []


def test_no_heldout_message_is_labelled_both_ways(heldout: list[Example]) -> None:
    labels: dict[str, set[bool]] = {}
    for example in heldout:
        labels.setdefault(_key(example.text), set()).add(example.urgent)
    assert [key for key, seen in labels.items() if len(seen) > 1] == []


# What the detector reaches today on the held-out set (docs/danger.md), with
# about a message of room: a change that does worse in any language fails.
RECALL_FLOOR = 0.95
FALSE_ALARM_CEILING = 0.22
# What the hotline must reach (issue: never miss a worker in danger).
RECALL_TARGET = 0.99
FALSE_ALARM_TARGET = 0.05


@pytest.fixture(scope="module")
def measured(detector: DangerDetector, heldout: list[Example]) -> danger_evaluation.DangerReport:
    return danger_evaluation.report(danger_evaluation.decide(detector, heldout))


def _failing(
    result: danger_evaluation.DangerReport, recall: float, false_alarm: float
) -> list[tuple[str, float, float, list[str], list[str]]]:
    failing = []
    for language in LANGUAGES:
        rates = result.by_lang[language]
        if rates.recall < recall or rates.false_alarm > false_alarm:
            missed = [d.example.text for d in result.misses if d.example.lang == language]
            false = [d.example.text for d in result.false_alarms if d.example.lang == language]
            failing.append((language, rates.recall, rates.false_alarm, missed, false))
    return failing


def test_no_language_falls_below_what_the_detector_reaches_today(
    measured: danger_evaluation.DangerReport,
) -> None:
    assert _failing(measured, RECALL_FLOOR, FALSE_ALARM_CEILING) == []


@pytest.mark.xfail(
    strict=True,
    reason="recall 0.99 and false alarms 0.05 are not reached yet in every language "
    "(docs/danger.md); strict, so reaching them is noticed",
)
def test_recall_and_false_alarms_meet_the_targets_in_every_language(
    measured: danger_evaluation.DangerReport,
) -> None:
    assert _failing(measured, RECALL_TARGET, FALSE_ALARM_TARGET) == []


def test_danger_words_are_a_floor_under_the_model(detector: DangerDetector) -> None:
    # Whatever the model makes of them, the listed words raise danger.
    for text in ("ok sos", "ช่วยด้วย", "ကယ်ပါ"):
        assessment = detector.assess(normalise(text).text)
        assert (assessment.level, assessment.signal) == (Level.DANGER, Signal.WORDS), text


def test_ordinary_questions_stay_calm(detector: DangerDetector) -> None:
    for text in (
        "what is the minimum wage in chonburi",
        "ค่าแรงขั้นต่ำเท่าไหร่",
        "hello",
        "thank you very much",
    ):
        assert detector.assess(normalise(text).text).level is Level.CALM, text


def test_the_message_before_can_show_danger_that_neither_shows_alone(
    detector: DangerDetector,
) -> None:
    # What the context signal rests on: two messages can say more than
    # either alone (context_pair fails when none of its pairs does).
    previous, now, line = context_pair(detector.model)
    # With the doubt line between them, only the two together raise doubt.
    between = DangerDetector(
        words=detector.words,
        model=detector.model,
        thresholds=Thresholds(danger_at=max(line, 0.99), doubt_at=line, situation_at=0.5),
    )
    assert not between.assess(now).alarm and not between.assess(previous).alarm
    assessment = between.assess(now, previous=previous)
    assert (assessment.level, assessment.signal) == (Level.DOUBT, Signal.CONTEXT)
    # A message that alarmed alone was answered when it came: it does not
    # make every later message an alarm.
    assert not detector.assess("ok thank you", previous="help he is beating me now").alarm


def test_a_fire_or_the_sea_is_named_so_its_numbers_can_be_added(
    detector: DangerDetector,
) -> None:
    fire = detector.assess("fire in the factory, we are trapped upstairs, smoke everywhere")
    sea = detector.assess("captain threw my friend into the sea, we are far from land")
    assert fire.situation == "fire" and sea.situation == "sea"


def test_the_evaluate_command_prints_recall_and_false_alarms_as_json(tmp_path: Path) -> None:
    data = tmp_path / "danger.yml"
    data.write_text(
        "items:\n"
        "  - {text: 'help he is beating me now', urgent: true, lang: en}\n"
        "  - {text: 'what is the minimum wage', urgent: false, lang: en}\n"
        "  - {text: 'ช่วยด้วย ไฟไหม้ ติดอยู่ชั้นบน', urgent: true, lang: th}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["danger", "evaluate", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["overall"] == {
        "recall": 1.0,
        "false_alarm": 0.0,
        "urgent": 2,
        "calm": 1,
        "doubt": report["overall"]["doubt"],
    }
    assert set(report["by_lang"]) == {"en", "th"}
    assert report["by_lang"]["th"]["recall"] == 1.0


def test_the_evaluate_command_refuses_a_bad_file_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("- {text: 'hello', lang: en}\n")
    result = CliRunner().invoke(app, ["danger", "evaluate", "--data", str(bad)])
    assert result.exit_code == 2
    assert "urgent" in result.output


def test_every_training_file_is_well_formed() -> None:
    for path in sorted((CONTENT / "danger").glob("*.yml")):
        examples = read_examples(path)
        assert {e.lang for e in examples} == {path.stem.split("-")[0]}, path
        assert all(e.situation for e in examples), path
