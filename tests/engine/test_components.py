"""The Rasa components: tokens reach Rasa whole, features keep whole words."""

from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.featurizer import WholeTokenCountVectorsFeaturizer
from nlu.tokenizer import ScriptAwareTokenizer


def tokenizer() -> ScriptAwareTokenizer:
    return ScriptAwareTokenizer(ScriptAwareTokenizer.get_default_config())


def test_tokens_carry_offsets_into_the_text() -> None:
    message = Message(data={TEXT: "สวัสดีครับ hello"})
    tokenizer().process([message])
    tokens = message.get(TOKENS_NAMES[TEXT])
    assert [(t.text, t.start, t.end) for t in tokens] == [
        ("สวัสดี", 0, 6),
        ("ครับ", 6, 10),
        ("hello", 11, 16),
    ]


def test_word_features_keep_whole_thai_words(
    default_model_storage, default_execution_context
) -> None:  # type: ignore[no-untyped-def]
    from rasa.engine.storage.resource import Resource

    featurizer = WholeTokenCountVectorsFeaturizer.create(
        {**WholeTokenCountVectorsFeaturizer.get_default_config(), "analyzer": "word"},
        default_model_storage,
        Resource("words"),
        default_execution_context,
    )
    messages = [
        Message(data={TEXT: "สวัสดีครับ", "intent": "greet"}),
        Message(data={TEXT: "ขอเบอร์โทร", "intent": "ask_hotlines"}),
    ]
    tokenizer().process_training_data(TrainingData(messages))
    featurizer.train(TrainingData(messages))
    vocabulary = set(featurizer.vectorizers[TEXT].vocabulary_)
    assert {"สวัสดี", "ครับ", "ขอ", "เบอร์", "โทร"} <= vocabulary
    # The stock pattern would have produced fragments such as "สว".
    assert "สว" not in vocabulary
