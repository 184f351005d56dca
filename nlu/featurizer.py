"""Word count features that keep whole tokens.

Rasa's CountVectorsFeaturizer (analyzer `word`) re-splits the tokenizer's
output with `(?u)\\b\\w+\\b`; Python's `\\w` excludes the combining marks of
Thai, Lao, Khmer and Burmese, so words are shattered (สวัสดี becomes สว, สด).
The pattern is fixed in code, not configurable: this subclass gives its word
vectorizers a whitespace pattern, so each token the tokenizer made is one
feature.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from sklearn.feature_extraction.text import CountVectorizer

WHOLE_TOKEN_PATTERN = r"(?u)[^ ]+"  # noqa: S105 (a regex, not a secret)


def _keep_whole_tokens(
    vectorizers: dict[str, CountVectorizer], parameters: dict[str, Any]
) -> dict[str, CountVectorizer]:
    if parameters["analyzer"] == "word":
        for vectorizer in vectorizers.values():
            vectorizer.set_params(token_pattern=WHOLE_TOKEN_PATTERN)
    return vectorizers


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class WholeTokenCountVectorsFeaturizer(CountVectorsFeaturizer):
    @classmethod
    def _create_shared_vocab_vectorizers(
        cls, parameters: dict[str, Any], vocabulary: Any | None = None
    ) -> dict[str, CountVectorizer]:
        vectorizers = super()._create_shared_vocab_vectorizers(parameters, vocabulary)
        return _keep_whole_tokens(vectorizers, parameters)

    @classmethod
    def _create_independent_vocab_vectorizers(
        cls, parameters: dict[str, Any], vocabulary: Any | None = None
    ) -> dict[str, CountVectorizer]:
        vectorizers = super()._create_independent_vocab_vectorizers(parameters, vocabulary)
        return _keep_whole_tokens(vectorizers, parameters)
