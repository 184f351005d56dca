"""Measuring the danger detector: recall and false alarms, per language and style.

Each message goes through the same normalisation and decision as a live
one. A message counts as caught when the worker would get the emergency
numbers: danger or doubt. A calm message that gets them is a false alarm,
doubt included, as the worker reads the numbers and a question all the same.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.danger.detector import Assessment, DangerDetector, Level
from bot.danger.model import Example, read_examples
from bot.normalise import normalise


@dataclass(frozen=True)
class Decision:
    example: Example
    assessment: Assessment
    # Normalisation and decision, as a live message pays them.
    seconds: float


@dataclass(frozen=True)
class Rates:
    urgent: int
    calm: int
    recall: float
    false_alarm: float
    # Of the alarms, how many were doubt (numbers and a question) rather
    # than danger (numbers and staff at once).
    doubt: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "recall": round(self.recall, 4),
            "false_alarm": round(self.false_alarm, 4),
            "urgent": self.urgent,
            "calm": self.calm,
            "doubt": self.doubt,
        }


@dataclass(frozen=True)
class DangerReport:
    overall: Rates
    by_lang: dict[str, Rates]
    by_style: dict[str, Rates]
    misses: list[Decision]
    false_alarms: list[Decision]
    mean_ms: float
    p99_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_dict(),
            "by_lang": {lang: r.as_dict() for lang, r in sorted(self.by_lang.items())},
            "by_style": {name: r.as_dict() for name, r in sorted(self.by_style.items())},
            "misses": [_listed(d) for d in self.misses],
            "false_alarms": [_listed(d) for d in self.false_alarms],
            "decision_ms": {"mean": round(self.mean_ms, 3), "p99": round(self.p99_ms, 3)},
        }


def _listed(decision: Decision) -> dict[str, Any]:
    return {
        "lang": decision.example.lang,
        "text": decision.example.text,
        "level": decision.assessment.level.value,
        "score": round(decision.assessment.score, 3),
    }


def load(paths: Iterable[Path]) -> list[Example]:
    """Danger files, or folders of them."""
    examples: list[Example] = []
    for path in paths:
        files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
        for file in files:
            examples.extend(read_examples(file))
    return examples


def decide(detector: DangerDetector, examples: Sequence[Example]) -> list[Decision]:
    decisions = []
    for example in examples:
        started = time.perf_counter()
        assessment = detector.assess(normalise(example.text).text)
        decisions.append(Decision(example, assessment, time.perf_counter() - started))
    return decisions


def rates(decisions: Sequence[Decision]) -> Rates:
    urgent = [d for d in decisions if d.example.urgent]
    calm = [d for d in decisions if not d.example.urgent]
    caught = sum(1 for d in urgent if d.assessment.alarm)
    alarmed = sum(1 for d in calm if d.assessment.alarm)
    return Rates(
        urgent=len(urgent),
        calm=len(calm),
        recall=caught / len(urgent) if urgent else 1.0,
        false_alarm=alarmed / len(calm) if calm else 0.0,
        doubt=sum(1 for d in decisions if d.assessment.level is Level.DOUBT),
    )


def report(decisions: Sequence[Decision]) -> DangerReport:
    by_lang: dict[str, list[Decision]] = {}
    by_style: dict[str, list[Decision]] = {}
    for decision in decisions:
        by_lang.setdefault(decision.example.lang, []).append(decision)
        style = f"{decision.example.lang}-{decision.example.style or 'script'}"
        by_style.setdefault(style, []).append(decision)
    times = sorted(d.seconds * 1000 for d in decisions) or [0.0]
    return DangerReport(
        overall=rates(decisions),
        by_lang={lang: rates(group) for lang, group in by_lang.items()},
        by_style={style: rates(group) for style, group in by_style.items()},
        misses=[d for d in decisions if d.example.urgent and not d.assessment.alarm],
        false_alarms=[d for d in decisions if not d.example.urgent and d.assessment.alarm],
        mean_ms=sum(times) / len(times),
        p99_ms=times[min(len(times) - 1, int(len(times) * 0.99))],
    )


def format_report(result: DangerReport) -> str:
    lines = [f"{'group':<16}{'urgent':>8}{'calm':>6}{'recall':>9}{'false alarm':>13}{'doubt':>7}"]

    def row(name: str, r: Rates) -> str:
        return (
            f"{name:<16}{r.urgent:>8}{r.calm:>6}{r.recall:>9.3f}{r.false_alarm:>13.3f}{r.doubt:>7}"
        )

    lines += [row(lang, r) for lang, r in sorted(result.by_lang.items())]
    lines += [row(style, r) for style, r in sorted(result.by_style.items())]
    lines.append(row("overall", result.overall))
    lines.append(
        f"decision time per message: mean {result.mean_ms:.2f} ms, p99 {result.p99_ms:.2f} ms"
    )
    for title, listed in (("missed", result.misses), ("false alarms", result.false_alarms)):
        if listed:
            lines.append(f"\n{title}:")
            lines += [
                f"  {d.example.lang} {d.assessment.score:.2f} {d.example.text}" for d in listed
            ]
    return "\n".join(lines)
