"""Whether a worker's message says someone may be in danger now.

Every text a worker sends is assessed, in every state of the conversation
(first contact, mid-report, waiting for staff, with staff, engine down,
flood-limited), before anything else happens to it. Three signals:

- the danger words (`words.py`): a floor that no model can lower;
- the danger model (`model.py`): what the message says, in any wording;
- the worker's previous message: "he is coming back" after "my husband beat
  me" is danger that neither message shows alone.

The answer has three levels. Danger: the emergency numbers at once and staff
first. Doubt: the numbers at once too, and the question whether someone is in
danger now; the doubt never delays the numbers. Calm: the message goes on
as usual. Each assessment says which signal decided it, so that
supervisors can review misses and false alarms.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.danger.model import DangerModel, trained
from bot.danger.words import DangerWords

WORDS_FILE = "danger_words.yml"
# Messages with no more letters than this are left to the danger words.
FEW_LETTERS = 3
DECISION_FILE = "danger_decision.yml"


class Level(enum.StrEnum):
    CALM = "calm"
    DOUBT = "doubt"
    DANGER = "danger"


class Signal(enum.StrEnum):
    """What raised the alarm; kept with every alarm for review."""

    WORDS = "words"
    MODEL = "model"
    CONTEXT = "context"
    # Raised outside the detector: the engine read `emergency`, the report
    # form's "anyone in danger now" was answered yes, or the worker answered
    # yes to the doubt question.
    ENGINE = "engine"
    REPORT = "report"
    WORKER = "worker"


@dataclass(frozen=True)
class Assessment:
    level: Level
    signal: Signal | None = None
    # The model's probability of danger for the message (or the message with
    # the one before it, when context decided).
    score: float = 0.0
    # The likeliest situation (fire, sea, ...), when the model is sure of it.
    situation: str | None = None

    @property
    def alarm(self) -> bool:
        return self.level is not Level.CALM


CALM = Assessment(Level.CALM)


@dataclass(frozen=True)
class Thresholds:
    """The model's probabilities at which a message is danger or doubt.

    Chosen on the training data by cross-validation (`bench/danger.py
    --calibrate`), never on the held-out set that measures them.
    """

    danger_at: float
    doubt_at: float
    situation_at: float

    @classmethod
    def from_file(cls, path: Path) -> Thresholds:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        thresholds = cls(
            danger_at=float(data["danger_at"]),
            doubt_at=float(data["doubt_at"]),
            situation_at=float(data["situation_at"]),
        )
        if not 0 < thresholds.doubt_at <= thresholds.danger_at < 1:
            raise ValueError(f"{path}: need 0 < doubt_at <= danger_at < 1")
        return thresholds


class DangerDetector:
    def __init__(self, *, words: DangerWords, model: DangerModel, thresholds: Thresholds) -> None:
        self.words = words
        self.model = model
        self._thresholds = thresholds

    @classmethod
    def from_content(
        cls, content_dir: Path, nlu_dir: Path, *, cache_dir: Path | None = None
    ) -> DangerDetector:
        return cls(
            words=DangerWords(content_dir / WORDS_FILE),
            model=trained(content_dir, nlu_dir, cache_dir=cache_dir),
            thresholds=Thresholds.from_file(content_dir / DECISION_FILE),
        )

    def assess(self, text: str, *, previous: str | None = None) -> Assessment:
        """Assess a normalised message (`bot.normalise`), with the worker's
        previous message when there is one."""
        lowered = text.lower()
        # A message of a few letters at most ("no", "3", "ok") says nothing
        # the model can read: only the danger words ("sos") decide it.
        score = self.model.urgency(lowered) if _letters(lowered) > FEW_LETTERS else 0.0
        if self.words.found_in(text):
            return self._alarm(Level.DANGER, Signal.WORDS, score, lowered)
        if score >= self._thresholds.danger_at:
            return self._alarm(Level.DANGER, Signal.MODEL, score, lowered)
        if score >= self._thresholds.doubt_at:
            return self._alarm(Level.DOUBT, Signal.MODEL, score, lowered)
        if previous:
            earlier = previous.lower()
            # Only danger that the two messages tell together: an alarm the
            # previous message raised alone was answered when it came.
            together = f"{earlier}\n{lowered}"
            joint = self.model.urgency(together)
            if (
                joint >= self._thresholds.doubt_at
                and self.model.urgency(earlier) < self._thresholds.doubt_at
                and not self.words.found_in(previous)
            ):
                return self._alarm(Level.DOUBT, Signal.CONTEXT, joint, together)
        return Assessment(Level.CALM, score=score)

    def _alarm(self, level: Level, signal: Signal, score: float, text: str) -> Assessment:
        found = self.model.situation(text)
        situation = None
        if found is not None and found[1] >= self._thresholds.situation_at:
            situation = found[0]
        return Assessment(level, signal, score, situation)


def _letters(text: str) -> int:
    # Letters of any script, with their combining marks (Thai, Khmer, Lao
    # and Burmese vowels are marks); digits, spaces and signs do not count.
    return sum(1 for c in text if unicodedata.category(c)[0] in "LM")
