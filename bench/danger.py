"""Danger benchmark: recall and false alarms on the held-out danger set.

Trains the danger model from `flows/content/danger/` and the engine's
training data, decides every held-out message (`tests/data/danger/`) as a
live message is decided (normalisation, danger words, model), and prints per
language and per style: recall, false alarms and how many alarms were doubt;
then the time the decision adds per message (alone, and with the worker's
previous message as context) and the time training takes at start-up. The
figures of the last run are written to `docs/danger.md`.

    .venv/bin/python bench/danger.py [--heldout DIR] [--no-docs]

`--calibrate` is for choosing the thresholds in
`flows/content/danger_decision.yml` without looking at the held-out set: it
splits the training data into five folds (per language and label), scores
each fold with a model trained on the other four, and prints recall and
false alarms per language at a range of thresholds. It writes no docs.

    .venv/bin/python bench/danger.py --calibrate
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.danger import DangerDetector, Thresholds  # noqa: E402
from bot.danger import evaluation as danger_evaluation  # noqa: E402
from bot.danger.detector import DECISION_FILE  # noqa: E402
from bot.danger.frames import FRAMES_FILE, Frames  # noqa: E402
from bot.danger.model import DangerModel, Example, prepared, training_examples  # noqa: E402
from bot.language import LANGUAGES  # noqa: E402
from bot.normalise import normalise  # noqa: E402

CONTENT = ROOT / "flows" / "content"
NLU_DATA = ROOT / "nlu" / "data"
HELDOUT = ROOT / "tests" / "data" / "danger"
DOCS = ROOT / "docs" / "danger.md"
FOLDS = 5
GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9)
TARGET_RECALL = 0.99
TARGET_FALSE_ALARM = 0.05


def _fold(example: Example) -> int:
    """A fixed fold per example, the same every run."""
    return int(hashlib.sha256(example.text.encode()).hexdigest(), 16) % FOLDS


def calibrate() -> None:
    examples = training_examples(CONTENT, NLU_DATA)
    frames = Frames.from_file(CONTENT / FRAMES_FILE)
    scored: list[tuple[Example, float]] = []
    for fold in range(FOLDS):
        model = DangerModel([e for e in examples if _fold(e) != fold], frames)
        scored += [(e, model.urgency(prepared(e.text))) for e in examples if _fold(e) == fold]
    # The written danger data holds the hard cases; the engine's calm
    # intents are easy negatives and would make false alarms look rare.
    targeted = [(e, s) for e, s in scored if e.situation]
    print(f"out-of-fold scores of {len(targeted)} danger examples ({FOLDS} folds)")
    print(f"{'threshold':>10}" + "".join(f"{lang:>14}" for lang in LANGUAGES))
    for threshold in GRID:
        cells = []
        for lang in LANGUAGES:
            mine = [(e, s) for e, s in targeted if e.lang == lang]
            urgent = [s for e, s in mine if e.urgent]
            calm = [s for e, s in mine if not e.urgent]
            recall = sum(s >= threshold for s in urgent) / len(urgent) if urgent else 1.0
            false = sum(s >= threshold for s in calm) / len(calm) if calm else 0.0
            cells.append(f"{recall:.3f}/{false:.3f}")
        print(f"{threshold:>10}" + "".join(f"{cell:>14}" for cell in cells))
    print("cells: recall/false alarm at that threshold")
    engine_calm = [s for e, s in scored if not e.situation and not e.urgent]
    for threshold in GRID:
        share = sum(s >= threshold for s in engine_calm) / len(engine_calm)
        print(f"  engine's calm examples over {threshold}: {share:.4f}")


def _timings(detector: DangerDetector, texts: Sequence[str]) -> tuple[list[float], list[float]]:
    alone, context = [], []
    for previous, text in itertools.pairwise(texts):
        started = time.perf_counter()
        detector.assess(normalise(text).text)
        alone.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        detector.assess(normalise(text).text, previous=normalise(previous).text)
        context.append((time.perf_counter() - started) * 1000)
    return alone, context


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def benchmark(heldout: Path, *, write_docs: bool) -> None:
    started = time.perf_counter()
    examples = training_examples(CONTENT, NLU_DATA)
    model = DangerModel(examples, Frames.from_file(CONTENT / FRAMES_FILE))
    training_seconds = time.perf_counter() - started
    thresholds = Thresholds.from_file(CONTENT / DECISION_FILE)
    from bot.danger.words import DangerWords

    detector = DangerDetector(
        words=DangerWords(CONTENT / "danger_words.yml"), model=model, thresholds=thresholds
    )
    tested = danger_evaluation.load([heldout])
    result = danger_evaluation.report(danger_evaluation.decide(detector, tested))
    table = danger_evaluation.format_report(result)
    alone, context = _timings(detector, [e.text for e in tested])
    timing = (
        f"decision time per message, normalisation included ({len(alone)} messages):\n"
        f"  alone: p50 {statistics.median(alone):.2f} ms, p99 {_percentile(alone, 0.99):.2f} ms\n"
        f"  with the previous message: p50 {statistics.median(context):.2f} ms, "
        f"p99 {_percentile(context, 0.99):.2f} ms\n"
        f"training at start-up: {training_seconds:.1f} s on {len(examples)} examples"
    )
    print(table)
    print(timing)
    met = all(
        r.recall >= TARGET_RECALL and r.false_alarm <= TARGET_FALSE_ALARM
        for r in result.by_lang.values()
    )
    print(f"targets (recall >= {TARGET_RECALL}, false alarms <= {TARGET_FALSE_ALARM}): "
          f"{'met' if met else 'NOT met'} in every language")  # fmt: skip
    if write_docs:
        _write_docs(table, timing, thresholds, len(examples), met)


def _write_docs(
    table: str, timing: str, thresholds: Thresholds, trained_on: int, met: bool
) -> None:
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    marker = "## Last run"
    head = text.split(marker)[0].rstrip() + "\n\n" if marker in text else text
    run = (
        f"{marker}\n\n"
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `bench/danger.py`, thresholds "
        f"danger {thresholds.danger_at}, doubt {thresholds.doubt_at}, trained on "
        f"{trained_on} examples; targets {'met' if met else 'NOT met'} in every language.\n\n"
        f"```\n{table}\n\n{timing}\n```\n"
    )
    DOCS.write_text(head + run, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", type=Path, default=HELDOUT)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--no-docs", action="store_true")
    arguments = parser.parse_args()
    if arguments.calibrate:
        calibrate()
    else:
        benchmark(arguments.heldout, write_docs=not arguments.no_docs)


if __name__ == "__main__":
    main()
