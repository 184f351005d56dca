"""Measuring how well the engine understands workers, per language.

Reads a YAML list of `{text, intent, lang}` (other keys ignored, except the
optional `subset`/`script` that name a group such as Zawgyi or Latin-letter
typing), sends each text through the same normalisation as live messages and
then the engine's `/model/parse`, and reports accuracy and macro-F1 per
language, per subset and overall, with the most frequent confusions.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot.normalise import normalise


class EvaluationDataError(ValueError):
    pass


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    lang: str
    subset: str | None = None


@dataclass(frozen=True)
class Prediction:
    example: Example
    intent: str
    confidence: float
    latency_ms: float


@dataclass(frozen=True)
class Scores:
    count: int
    accuracy: float
    macro_f1: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
        }


@dataclass
class Report:
    overall: Scores
    by_lang: dict[str, Scores]
    by_subset: dict[str, Scores]
    confusions: list[tuple[str, str, str, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_dict(),
            "by_lang": {lang: scores.as_dict() for lang, scores in sorted(self.by_lang.items())},
            "by_subset": {name: s.as_dict() for name, s in sorted(self.by_subset.items())},
            "confusions": [
                {"lang": lang, "expected": gold, "predicted": guess, "count": count}
                for lang, gold, guess, count in self.confusions
            ],
        }


def load_examples(paths: Iterable[Path]) -> list[Example]:
    examples: list[Example] = []
    for path in paths:
        files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
        for file in files:
            items = yaml.safe_load(file.read_text(encoding="utf-8"))
            if not isinstance(items, list):
                raise EvaluationDataError(f"{file}: expected a YAML list of {{text, intent, lang}}")
            for number, item in enumerate(items, start=1):
                if not isinstance(item, dict) or not all(
                    isinstance(item.get(key), str) and item.get(key)
                    for key in ("text", "intent", "lang")
                ):
                    raise EvaluationDataError(f"{file}: item {number} needs text, intent and lang")
                subset = item.get("subset") or item.get("script")
                examples.append(
                    Example(
                        text=item["text"],
                        intent=item["intent"],
                        lang=item["lang"],
                        subset=str(subset) if subset else None,
                    )
                )
    return examples


def macro_f1(pairs: Sequence[tuple[str, str]]) -> float:
    """Mean F1 over the expected intents.

    A prediction outside them (the engine's `nlu_fallback`, "not
    understood") is a miss: it lowers the recall of the intent the worker
    meant, as accuracy counts it wrong; it is not a class of its own.
    """
    labels = {gold for gold, _ in pairs}
    if not labels:
        return 0.0
    total = 0.0
    for label in labels:
        true_positive = sum(1 for gold, guess in pairs if gold == label and guess == label)
        predicted = sum(1 for _, guess in pairs if guess == label)
        expected = sum(1 for gold, _ in pairs if gold == label)
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / expected if expected else 0.0
        if precision + recall:
            total += 2 * precision * recall / (precision + recall)
    return total / len(labels)


def scores(predictions: Sequence[Prediction]) -> Scores:
    pairs = [(p.example.intent, p.intent) for p in predictions]
    correct = sum(1 for gold, guess in pairs if gold == guess)
    return Scores(
        count=len(pairs),
        accuracy=correct / len(pairs) if pairs else 0.0,
        macro_f1=macro_f1(pairs),
    )


def report(predictions: Sequence[Prediction], *, top_confusions: int = 15) -> Report:
    by_lang: dict[str, list[Prediction]] = {}
    by_subset: dict[str, list[Prediction]] = {}
    for prediction in predictions:
        by_lang.setdefault(prediction.example.lang, []).append(prediction)
        # Messages without a subset are in the language's own script.
        name = f"{prediction.example.lang}-{prediction.example.subset or 'script'}"
        by_subset.setdefault(name, []).append(prediction)
    confusions = Counter(
        (p.example.lang, p.example.intent, p.intent)
        for p in predictions
        if p.example.intent != p.intent
    )
    return Report(
        overall=scores(predictions),
        by_lang={lang: scores(group) for lang, group in by_lang.items()},
        by_subset={name: scores(group) for name, group in by_subset.items()},
        confusions=[(*key, count) for key, count in confusions.most_common(top_confusions)],
    )


async def predict(
    examples: Sequence[Example],
    *,
    engine_url: str,
    token: str | None,
    concurrency: int = 4,
    timeout: float = 30.0,
) -> list[Prediction]:
    """Ask the engine for each example's intent, after live normalisation."""
    params = {"token": token} if token else {}
    semaphore = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()

    async with httpx.AsyncClient(base_url=engine_url, timeout=timeout) as client:

        async def one(example: Example) -> Prediction:
            text = normalise(example.text).text
            async with semaphore:
                started = loop.time()
                response = await client.post("/model/parse", json={"text": text}, params=params)
                latency_ms = (loop.time() - started) * 1000
            response.raise_for_status()
            intent = response.json().get("intent") or {}
            return Prediction(
                example=example,
                intent=str(intent.get("name") or ""),
                confidence=float(intent.get("confidence") or 0.0),
                latency_ms=latency_ms,
            )

        return list(await asyncio.gather(*(one(example) for example in examples)))


def format_report(result: Report) -> str:
    lines = [f"{'group':<14}{'n':>6}{'accuracy':>10}{'macro-F1':>10}"]

    def row(name: str, score: Scores) -> str:
        return f"{name:<14}{score.count:>6}{score.accuracy:>10.3f}{score.macro_f1:>10.3f}"

    for lang, score in sorted(result.by_lang.items()):
        lines.append(row(lang, score))
    for name, score in sorted(result.by_subset.items()):
        lines.append(row(name, score))
    lines.append(row("overall", result.overall))
    if result.confusions:
        lines.append("")
        lines.append("most frequent confusions (lang: expected -> predicted, count)")
        for lang, gold, guess, count in result.confusions:
            lines.append(f"  {lang}: {gold} -> {guess or '(none)'}  {count}")
    return "\n".join(lines)
