"""Which language a message typed in Latin letters is in.

Many workers type Burmese, Khmer or Lao phonetically in Latin letters
("passport ko boss yu thwar dl"). Script ranges cannot tell these from
English, so a small naive Bayes model over character n-grams, trained at
start-up on the Latin-letter examples of the project's own training data,
tells them apart. It answers only when it is clearly sure; otherwise the
stored language stays.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.language import LANGUAGES

_ANNOTATION = re.compile(r"\[([^\]]+)\]\{[^}]*\}|\[([^\]]+)\]\([^)]*\)")
_LETTER = re.compile(r"[a-z]")
_NON_LATIN_LETTER = re.compile(r"[^\W\d_a-zA-Z]")
MIN_LETTERS = 4
ORDERS = (1, 2, 3, 4)


def _plain(example: str) -> str:
    return _ANNOTATION.sub(lambda match: match.group(1) or match.group(2), example)


def is_latin_text(text: str) -> bool:
    """Latin letters and no letters of any other script."""
    return bool(_LETTER.search(text.lower())) and not _NON_LATIN_LETTER.search(text)


def _ngrams(text: str) -> Iterable[str]:
    for word in re.findall(r"[a-z']+", text.lower()):
        padded = f" {word} "
        for order in ORDERS:
            for start in range(len(padded) - order + 1):
                yield padded[start : start + order]


@dataclass(frozen=True)
class LatinGuess:
    language: str
    probability: float


class LatinLanguageModel:
    def __init__(self, examples: dict[str, list[str]], *, threshold: float = 0.9) -> None:
        self._threshold = threshold
        self._counts = {lang: Counter(g for text in texts for g in _ngrams(text))
                        for lang, texts in examples.items() if texts}  # fmt: skip
        self._totals = {lang: sum(counts.values()) for lang, counts in self._counts.items()}
        self._vocabulary = len(set().union(*self._counts.values())) if self._counts else 1
        total_examples = sum(len(texts) for texts in examples.values())
        self._priors = {
            lang: math.log(len(examples[lang]) / total_examples) for lang in self._counts
        }

    @classmethod
    def from_training_data(cls, data_dir: Path) -> LatinLanguageModel:
        examples: dict[str, list[str]] = {language: [] for language in LANGUAGES}
        for language in LANGUAGES:
            for path in sorted((data_dir / language).glob("*.yml")):
                document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                for block in document.get("nlu") or []:
                    for line in str(block.get("examples") or "").splitlines():
                        text = _plain(line.strip().removeprefix("- ").strip())
                        if text and is_latin_text(text):
                            examples[language].append(text)
        return cls(examples)

    def guess(self, text: str) -> LatinGuess | None:
        """The language, or None when the text is not Latin or the model is unsure."""
        if not is_latin_text(text) or len(_LETTER.findall(text.lower())) < MIN_LETTERS:
            return None
        grams = list(_ngrams(text))
        if not grams or not self._counts:
            return None
        scores = {}
        for lang, counts in self._counts.items():
            denominator = self._totals[lang] + self._vocabulary
            scores[lang] = self._priors[lang] + sum(
                math.log((counts[gram] + 1) / denominator) for gram in grams
            )
        best = max(scores, key=lambda lang: scores[lang])
        # Normalised posterior of the best language.
        top = scores[best]
        probability = 1 / sum(math.exp(score - top) for score in scores.values())
        if probability < self._threshold:
            return None
        return LatinGuess(language=best, probability=probability)
