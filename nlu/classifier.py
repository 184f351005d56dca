"""A linear intent classifier that is blended with DIET's ranking.

DIET learns intents from few examples per intent and language, and its
confidences are near 0 or 1, so a single unseen word can flip it to a wrong
intent with full confidence. A linear support vector machine on TF-IDF
weighted whole tokens (and token pairs) and character n-grams within tokens
makes different mistakes; weighting each intent equally (`balanced`) keeps
the intents with few examples (cancel a report, delete my data, share a
location) from being drowned by the large ones. This component runs after
DIET, turns the machine's scores into probabilities (softmax with a
temperature) and mixes them with the intent ranking the message already
carries:

    confidence(intent) = previous_weight * DIET + (1 - previous_weight) * linear

Without a previous ranking (no DIET in the pipeline) it is the linear
classifier alone. It learns its own vocabulary from the tokenizer's tokens,
so it needs no featurizer, and it trains in seconds. What it stores is plain
data (vocabularies as JSON, weights as NumPy arrays), nothing pickled.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

logger = logging.getLogger(__name__)

WHOLE_TOKEN_PATTERN = r"(?u)[^ ]+"  # noqa: S105 (a regex, not a secret)
CONFIDENCE_KEY = "confidence"


def _joined_tokens(message: Message) -> str:
    """The message's tokens, lower-cased, one space between them."""
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    words = [token.text.lower().replace(" ", "") for token in tokens]
    return " ".join(word for word in words if word) or (message.get(TEXT) or "").lower()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class BlendedLinearIntentClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # n-gram ranges of the two vectorizers: whole tokens, and
            # characters within tokens (`char_wb`).
            "word_ngrams": [1, 2],
            "char_ngrams": [1, 4],
            # The machine's regularisation (sklearn's C).
            "C": 1.0,
            # Every intent weighs the same in training, however many
            # examples it has.
            "balanced": True,
            # Softmax temperature that turns margins into probabilities.
            "temperature": 0.1,
            # The share of the previous classifier's (DIET's) ranking.
            "previous_weight": 0.3,
            "ranking_length": 10,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vectorizers: list[TfidfVectorizer] | None = None,
        weights: np.ndarray | None = None,
        intercepts: np.ndarray | None = None,
        intents: list[str] | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.vectorizers = vectorizers or []
        self.weights = weights
        self.intercepts = intercepts
        self.intents = intents or []

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> BlendedLinearIntentClassifier:
        return cls(config, model_storage, resource)

    def _new_vectorizers(self) -> list[TfidfVectorizer]:
        word = tuple(self.config["word_ngrams"])
        char = tuple(self.config["char_ngrams"])
        return [
            TfidfVectorizer(
                analyzer="word",
                token_pattern=WHOLE_TOKEN_PATTERN,
                ngram_range=word,
                lowercase=False,
                sublinear_tf=True,
            ),
            TfidfVectorizer(
                analyzer="char_wb", ngram_range=char, lowercase=False, sublinear_tf=True
            ),
        ]

    def _features(self, texts: list[str]) -> sp.csr_matrix:
        return sp.hstack([vectorizer.transform(texts) for vectorizer in self.vectorizers]).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        intents = sorted({e.get(INTENT) for e in examples})
        if len(intents) < 2:
            logger.debug("Fewer than two intents: the linear intent classifier is not trained.")
            return self._resource
        texts = [_joined_tokens(e) for e in examples]
        self.vectorizers = self._new_vectorizers()
        features = sp.hstack(
            [vectorizer.fit_transform(texts) for vectorizer in self.vectorizers]
        ).tocsr()
        machine = LinearSVC(
            C=self.config["C"],
            class_weight="balanced" if self.config["balanced"] else None,
            random_state=0,
        )
        machine.fit(features, [e.get(INTENT) for e in examples])
        self.intents = [str(intent) for intent in machine.classes_]
        self.weights = np.asarray(machine.coef_, dtype=np.float32)
        self.intercepts = np.asarray(machine.intercept_, dtype=np.float32)
        self.persist()
        return self._resource

    def _probabilities(self, messages: list[Message]) -> np.ndarray:
        assert self.weights is not None and self.intercepts is not None
        margins = self._features([_joined_tokens(m) for m in messages]) @ self.weights.T
        margins = np.asarray(margins) + self.intercepts
        if len(self.intents) == 2:  # a binary machine keeps one row of weights
            margins = np.column_stack([-margins[:, 0], margins[:, 0]])
        scaled = (margins - margins.max(axis=1, keepdims=True)) / self.config["temperature"]
        exponentials = np.exp(scaled)
        return exponentials / exponentials.sum(axis=1, keepdims=True)

    def process(self, messages: list[Message]) -> list[Message]:
        if self.weights is None or not messages:
            return messages
        probabilities = self._probabilities(messages)
        share = float(self.config["previous_weight"])
        for message, row in zip(messages, probabilities, strict=True):
            previous = message.get(INTENT_RANKING_KEY) or []
            weight = share if previous else 0.0
            blended = {
                intent: (1 - weight) * float(p) for intent, p in zip(self.intents, row, strict=True)
            }
            for entry in previous:
                name = entry.get(INTENT_NAME_KEY)
                if name:
                    blended[name] = blended.get(name, 0.0) + weight * float(entry[CONFIDENCE_KEY])
            ranking = sorted(
                ({INTENT_NAME_KEY: name, CONFIDENCE_KEY: value} for name, value in blended.items()),
                key=lambda entry: -entry[CONFIDENCE_KEY],
            )
            message.set(INTENT, ranking[0], add_to_output=True)
            length = self.config["ranking_length"]
            message.set(
                INTENT_RANKING_KEY, ranking[:length] if length > 0 else ranking, add_to_output=True
            )
        return messages

    def persist(self) -> None:
        assert self.weights is not None and self.intercepts is not None
        with self._model_storage.write_to(self._resource) as directory:
            vocabularies = [
                {term: int(index) for term, index in vectorizer.vocabulary_.items()}
                for vectorizer in self.vectorizers
            ]
            (directory / "linear.json").write_text(
                json.dumps({"intents": self.intents, "vocabularies": vocabularies}),
                encoding="utf-8",
            )
            arrays = {"weights": self.weights, "intercepts": self.intercepts}
            for number, vectorizer in enumerate(self.vectorizers):
                arrays[f"idf_{number}"] = np.asarray(vectorizer.idf_, dtype=np.float64)
            np.savez(directory / "linear.npz", **arrays)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> BlendedLinearIntentClassifier:
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                stored = json.loads((directory / "linear.json").read_text(encoding="utf-8"))
                with np.load(directory / "linear.npz", allow_pickle=False) as arrays:
                    vectorizers = component._new_vectorizers()
                    for number, vectorizer in enumerate(vectorizers):
                        vectorizer.vocabulary_ = stored["vocabularies"][number]
                        vectorizer.idf_ = arrays[f"idf_{number}"]
                    component.vectorizers = vectorizers
                    component.weights = arrays["weights"]
                    component.intercepts = arrays["intercepts"]
                    component.intents = stored["intents"]
        except (ValueError, FileNotFoundError):
            logger.debug("No trained linear intent classifier in the model; it passes messages on.")
        return component
