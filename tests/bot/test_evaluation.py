"""The evaluation arithmetic and the data format of `hotline nlu evaluate`."""

from pathlib import Path

import pytest

from bot.evaluation import (
    EvaluationDataError,
    Example,
    Prediction,
    load_examples,
    macro_f1,
    report,
)


def test_macro_f1_by_hand() -> None:
    pairs = [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")]
    # a: precision 1, recall 0.5 -> 0.667; b: precision 2/3, recall 1 -> 0.8
    assert macro_f1(pairs) == pytest.approx((2 / 3 + 0.8) / 2)


def test_not_understood_is_a_miss_not_a_class() -> None:
    pairs = [("a", "a"), ("a", "nlu_fallback")]
    assert macro_f1(pairs) == pytest.approx(2 * 1 * 0.5 / 1.5)


def test_report_groups_languages_and_subsets() -> None:
    def prediction(lang: str, subset: str | None, gold: str, guess: str) -> Prediction:
        return Prediction(Example("t", gold, lang, subset), guess, 0.9, 5.0)

    result = report(
        [
            prediction("my", None, "greet", "greet"),
            prediction("my", "zawgyi", "greet", "thanks"),
            prediction("en", None, "greet", "greet"),
        ]
    )
    assert result.by_lang["my"].accuracy == 0.5
    assert result.by_subset["my-zawgyi"].accuracy == 0.0
    assert result.by_subset["my-script"].accuracy == 1.0
    assert result.overall.count == 3
    assert result.confusions == [("my", "greet", "thanks", 1)]
    assert set(result.as_dict()) >= {"overall", "by_lang"}
    assert set(result.as_dict()["overall"]) >= {"accuracy", "macro_f1"}


def test_bad_data_files_are_refused_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("- text: hi\n  lang: en\n")
    with pytest.raises(EvaluationDataError, match="item 1"):
        load_examples([bad])
    bad.write_text("text: hi\n")
    with pytest.raises(EvaluationDataError, match="list"):
        load_examples([bad])


def test_the_held_out_set_covers_every_intent_in_every_language() -> None:
    import yaml

    from core.settings import PROJECT_ROOT
    from tests.support.actions import INTERNAL_INTENTS

    examples = load_examples([PROJECT_ROOT / "tests" / "data" / "heldout"])
    counts: dict[tuple[str, str], int] = {}
    for example in examples:
        if example.subset is None:
            key = (example.lang, example.intent)
            counts[key] = counts.get(key, 0) + 1
    intents = {intent for _, intent in counts}
    # Every intent of the taxonomy (the domain's, tests/flows/test_intents_contract.py).
    domain = yaml.safe_load((PROJECT_ROOT / "flows" / "domain.yml").read_text(encoding="utf-8"))
    assert intents == set(domain["intents"]) - INTERNAL_INTENTS
    for lang in ("my", "km", "lo", "th", "en"):
        for intent in intents:
            assert counts.get((lang, intent), 0) >= 10, (lang, intent)
    subsets = {example.subset for example in examples}
    assert {"zawgyi", "latin"} <= subsets


def test_no_held_out_message_is_in_the_training_data() -> None:
    import re

    import yaml

    from core.settings import PROJECT_ROOT

    def plain(text: str) -> str:
        text = re.sub(r"\[([^\]]+)\]\{[^}]*\}", r"\1", text)
        return " ".join(text.lower().split())

    trained = set()
    for path in (PROJECT_ROOT / "nlu" / "data").rglob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" in block:
                for line in block["examples"].splitlines():
                    trained.add(plain(line.strip().removeprefix("- ")))
    held_out = load_examples([PROJECT_ROOT / "tests" / "data" / "heldout"])
    overlap = [e.text for e in held_out if plain(e.text) in trained]
    # Single-word greetings and yes/no can coincide by nature; whole
    # sentences must not.
    assert len(overlap) <= len(held_out) // 50, overlap[:20]
