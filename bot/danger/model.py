"""A classifier that reads whether someone may be in danger now, in any wording.

Danger words catch "help they are beating me" and miss "the rope is ready",
"locked in since yesterday no water" or a goodbye. This model learns from
many examples per language and style (`flows/content/danger/<lang>.yml`:
each with `urgent`, the situation and the style), and from the engine's own
training data (`emergency` as urgent, plainly calm intents as not).

Character n-grams, because Thai, Lao, Khmer and Burmese have no spaces
between words and workers misspell and type their language in Latin
letters; a linear model, because it is small, fast (well under a
millisecond a message) and trains at start-up in seconds, so the data files
are the only thing to review and nothing trained is kept in the repository.

A linear model cannot learn that the same danger words told as something
over, a question or a joke are calm: a second stage does, a logistic
regression over the first stage's score (out of fold on the training data),
the message's frames (`frames.py`: past, over, question, joke, discomfort,
grievance, story, now) and their products with the score.

A second model names the situation (fire, at sea, ...) so the reply can add
the numbers that fit it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import joblib
import numpy as np
import sklearn
import yaml
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline, make_union

from bot.danger.frames import FRAMES_FILE, Frames
from bot.normalise import normalise

logger = logging.getLogger(__name__)

# Where each language's examples are, under the content folder.
DATA_FOLDER = "danger"
# Intents of the engine's training data whose examples are plainly calm. The
# reports of violence and forced labour are left out: "they lock us in at
# night" is both a report and a danger now, and the danger data says which.
CALM_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thanks",
        "affirm",
        "deny",
        "choose_language",
        "check_case_status",
        "out_of_scope",
        "ask_wage_info",
        "ask_working_hours",
        "ask_documents",
        "ask_change_employer",
        "ask_social_security",
        "ask_fishing_rights",
        "ask_hotlines",
        "ask_dismissal",
        "report_abuse",
        "report_unpaid_wages",
        "report_document_confiscation",
        "request_human",
    }
)
URGENT_INTENT = "emergency"
# Hash buckets per kind of feature (letters, words).
FEATURE_BUCKETS = 2**18
# How much a written danger example counts against one of the engine's
# (measured by cross-validation on the training data: bench/danger.py).
WRITTEN_WEIGHT = 3.0
# Folds of the first stage's out-of-fold scores the second stage learns from.
STAGE_FOLDS = 5
# Changes whenever the model's design changes, so that a model cached on disk
# by an older design is never loaded (the source of this module is in the
# cache key too).
MODEL_VERSION = 2
_ANNOTATION = re.compile(r"\[([^\]]+)\]\{[^}]*\}|\[([^\]]+)\]\([^)]*\)")


@dataclass(frozen=True)
class Example:
    text: str
    urgent: bool
    lang: str
    situation: str | None = None
    style: str | None = None


def prepared(text: str) -> str:
    """The form the models read: normalised (Zawgyi converted), lower case."""
    return normalise(text).text.lower()


def read_examples(path: Path) -> list[Example]:
    """A danger file: a YAML list of `{text, urgent, lang}` (or `{items: [...]}`)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = document.get("items") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of {{text, urgent, lang}}")
    examples = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not {"text", "urgent", "lang"} <= item.keys():
            raise ValueError(f"{path}: item {number} needs text, urgent and lang")
        if not isinstance(item["urgent"], bool):
            raise ValueError(f"{path}: item {number}: urgent must be true or false")
        examples.append(
            Example(
                text=str(item["text"]),
                urgent=item["urgent"],
                lang=str(item["lang"]),
                situation=item.get("situation"),
                style=item.get("style") or item.get("subset"),
            )
        )
    return examples


def _engine_examples(nlu_dir: Path) -> Iterable[Example]:
    for path in sorted(nlu_dir.glob("*/*.yml")):
        lang = path.parent.name
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in document.get("nlu") or []:
            intent = block.get("intent")
            if intent != URGENT_INTENT and intent not in CALM_INTENTS:
                continue
            for line in str(block.get("examples") or "").splitlines():
                text = line.strip().removeprefix("- ").strip()
                text = _ANNOTATION.sub(lambda m: m.group(1) or m.group(2), text)
                if text:
                    yield Example(text=text, urgent=intent == URGENT_INTENT, lang=lang)


def training_files(content_dir: Path) -> list[Path]:
    return sorted((content_dir / DATA_FOLDER).glob("*.yml"))


def training_examples(content_dir: Path, nlu_dir: Path) -> list[Example]:
    examples = [e for path in training_files(content_dir) for e in read_examples(path)]
    return examples + list(_engine_examples(nlu_dir))


def _hashed(analyzer: str, ngrams: tuple[int, int]) -> Pipeline:
    # Hashed rather than a vocabulary: the trained model is arrays only,
    # which load in milliseconds, where a vocabulary of half a million
    # n-grams takes seconds to unpickle in every app process.
    words = {"token_pattern": r"\S+"} if analyzer == "word" else {}
    return make_pipeline(
        HashingVectorizer(
            analyzer=analyzer,
            ngram_range=ngrams,
            n_features=FEATURE_BUCKETS,
            alternate_sign=False,
            norm=None,
            **words,
        ),
        TfidfTransformer(sublinear_tf=True),
    )


def _features() -> FeatureUnion:
    return make_union(
        # Whole-word padded n-grams keep short words ("sos", "ตี") apart from
        # the same letters inside longer ones; up to five letters carries a
        # syllable or two of the unspaced scripts.
        _hashed("char_wb", (1, 5)),
        # Words and word pairs, where the writer put spaces: "last month",
        # "right now", "if there is".
        _hashed("word", (1, 2)),
    )


def _classifier() -> LogisticRegression:
    return LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000)


def _logit(probability: np.ndarray) -> np.ndarray:
    clipped = np.clip(probability, 1e-6, 1 - 1e-6)
    result: np.ndarray = np.log(clipped / (1 - clipped))
    return result


def _stage_fold(text: str) -> int:
    """A fixed fold per example, the same every run."""
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % STAGE_FOLDS


def _second_stage_rows(scores: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The first stage's logit, the frames and the frames times the logit."""
    logit = _logit(scores)[:, None]
    return np.hstack([logit, frames, logit * frames])


class DangerModel:
    """The probability that a message tells of danger now, and its likely situation."""

    def __init__(self, examples: list[Example], frames: Frames | None = None) -> None:
        labels = np.array([e.urgent for e in examples])
        if labels.all() or not labels.any():
            raise ValueError("the danger model needs urgent and calm examples")
        self._rows: Callable[[str], csr_matrix] | None = None
        self._features = _features()
        texts = [prepared(e.text) for e in examples]
        matrix = self._features.fit_transform(texts)
        # The written danger examples are the hard cases, each chosen for
        # what it teaches; the engine's examples only add ordinary talk.
        weights = np.array([WRITTEN_WEIGHT if e.situation else 1.0 for e in examples])
        self._urgent = _classifier().fit(matrix, labels, sample_weight=weights)
        self._frames = frames
        self._stage: LogisticRegression | None = None
        if frames is not None:
            self._stage = self._second_stage(matrix, labels, weights, texts, frames)
        # Buckets no example reached keep a weight of exactly zero: kept
        # sparse, the model is a fraction of the size to store and load.
        self._urgent.sparsify()
        # The model's classes are [False, True]; the column of True is urgent.
        self._urgent_column = list(self._urgent.classes_).index(True)
        situated = [i for i, e in enumerate(examples) if e.urgent and e.situation]
        self._situation: LogisticRegression | None = None
        if len({examples[i].situation for i in situated}) > 1:
            self._situation = _classifier().fit(
                matrix[situated], [examples[i].situation for i in situated]
            )
            self._situation.sparsify()

    @staticmethod
    def _second_stage(
        matrix: csr_matrix,
        labels: np.ndarray,
        weights: np.ndarray,
        texts: list[str],
        frames: Frames,
    ) -> LogisticRegression:
        # The second stage learns from scores the first stage gave examples
        # it was not trained on, as it will score workers' messages.
        folds = np.array([_stage_fold(t) for t in texts])
        scores = np.zeros(len(texts))
        for fold in range(STAGE_FOLDS):
            train, held = folds != fold, folds == fold
            if not held.any():
                continue
            first = _classifier().fit(matrix[train], labels[train], sample_weight=weights[train])
            urgent = list(first.classes_).index(True)
            scores[held] = first.predict_proba(matrix[held])[:, urgent]
        rows = _second_stage_rows(scores, np.array([frames.vector(t) for t in texts]))
        return LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000).fit(
            rows, labels, sample_weight=weights
        )

    def first_stage(self, text: str) -> float:
        """The first stage's probability alone (text already `prepared`)."""
        return float(self._urgent.predict_proba(self._row(text))[0][self._urgent_column])

    def urgency(self, text: str) -> float:
        """Text already `prepared`."""
        score = self.first_stage(text)
        if self._stage is None or self._frames is None:
            return score
        rows = _second_stage_rows(np.array([score]), self._frames.vector(text)[None, :])
        column = list(self._stage.classes_).index(True)
        return float(self._stage.predict_proba(rows)[0][column])

    def _row(self, text: str) -> csr_matrix:
        # An alarm asks the situation of the text it just scored: the
        # features of the last few texts are kept rather than made again.
        if self._rows is None:
            self._rows = lru_cache(maxsize=8)(self._transform)
        return self._rows(text)

    def _transform(self, text: str) -> csr_matrix:
        matrix: csr_matrix = self._features.transform([text])
        return matrix

    def __getstate__(self) -> dict[str, object]:
        # The cache of features holds a bound method; it is not stored.
        return {**self.__dict__, "_rows": None}

    def situation(self, text: str) -> tuple[str, float] | None:
        """The likeliest situation and its probability (text already `prepared`)."""
        if self._situation is None:
            return None
        probabilities = self._situation.predict_proba(self._row(text))[0]
        best = int(np.argmax(probabilities))
        return str(self._situation.classes_[best]), float(probabilities[best])


def fingerprint(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        # Named by folder and file only: a copy of the same data is the same.
        digest.update(f"{path.parent.name}/{path.name}".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def trained(content_dir: Path, nlu_dir: Path, *, cache_dir: Path | None = None) -> DangerModel:
    """The model for these data files, trained once while they are unchanged.

    Kept in memory for the process and, when `cache_dir` is given, on disk
    by the fingerprint of the data and frames, the model's code and the
    library that trained it, as training takes a while and every app process
    needs the model at start.
    """
    return _trained(content_dir, nlu_dir, cache_key(content_dir, nlu_dir), cache_dir)


def cache_key(content_dir: Path, nlu_dir: Path) -> str:
    """What the cached model depends on: the data and frames, the model's code
    (its version and the source of this module and `frames.py`: a model
    cached by older code is never loaded) and scikit-learn's version."""
    files = [*training_files(content_dir), content_dir / FRAMES_FILE]
    files += sorted(nlu_dir.glob("*/*.yml"))
    code = hashlib.sha256()
    for module in (Path(__file__), Path(__file__).with_name("frames.py")):
        code.update(module.read_bytes())
    return (
        f"{fingerprint(files)[:24]}-v{MODEL_VERSION}-{code.hexdigest()[:12]}"
        f"-sklearn{sklearn.__version__}"
    )


@cache
def _trained(content_dir: Path, nlu_dir: Path, key: str, cache_dir: Path | None) -> DangerModel:
    path = cache_dir / f"danger-{key}.joblib" if cache_dir is not None else None
    if path is not None and path.exists():
        try:
            model: DangerModel = joblib.load(path)
            return model
        except Exception:  # a damaged or foreign file: trained again
            logger.warning("danger model cache %s unreadable; training again", path.name)
    model = DangerModel(
        training_examples(content_dir, nlu_dir), Frames.from_file(content_dir / FRAMES_FILE)
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: another process never reads half a file.
        partial = path.with_suffix(f".{os.getpid()}.partial")
        joblib.dump(model, partial)
        partial.replace(path)
        _forget_older(path)
    return model


def _forget_older(kept: Path, *, keep: int = 3) -> None:
    """Models of older data are of no use once the data changed: keep a few."""
    older = sorted(kept.parent.glob("danger-*.joblib"), key=lambda p: p.stat().st_mtime)
    for path in older[:-keep]:
        path.unlink(missing_ok=True)
