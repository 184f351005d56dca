"""A Rasa tokenizer that reads Thai, Lao, Khmer, Burmese and Latin text.

Rasa's WhitespaceTokenizer refuses Thai and leaves Lao, Khmer and Burmese
phrases whole; this one cuts each script with its own segmenter (see
`nlu.segmentation`).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from nlu.segmentation import segment


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ScriptAwareTokenizer(Tokenizer):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ScriptAwareTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        tokens = [Token(piece, start) for piece, start in segment(text)]
        if not tokens and text:
            # Rasa needs at least one token; an emoji-only message is one.
            tokens = [Token(text, 0)]
        return self._apply_token_pattern(tokens)
