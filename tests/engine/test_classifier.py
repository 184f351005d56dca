"""The blended linear intent classifier: learns from tokens, mixes in DIET's
ranking, and comes back from the model archive the same."""

from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.classifier import BlendedLinearIntentClassifier
from nlu.tokenizer import ScriptAwareTokenizer

EXAMPLES = {
    "greet": ["สวัสดีครับ", "hello", "hi there", "សួស្តីបង"],
    "ask_hotlines": ["ขอเบอร์โทร", "hotline number please", "phone number of the hotline"],
    "cancel_report": ["cancel my report", "ยกเลิกเรื่อง"],
}


def tokenized(texts: list[str]) -> list[Message]:
    messages = [Message(data={TEXT: text}) for text in texts]
    ScriptAwareTokenizer(ScriptAwareTokenizer.get_default_config()).process(messages)
    return messages


def trained(model_storage, execution_context, **config):  # type: ignore[no-untyped-def]
    classifier = BlendedLinearIntentClassifier.create(
        {**BlendedLinearIntentClassifier.get_default_config(), **config},
        model_storage,
        Resource("linear"),
        execution_context,
    )
    messages = [
        Message(data={TEXT: text, INTENT: intent})
        for intent, texts in EXAMPLES.items()
        for text in texts
    ]
    ScriptAwareTokenizer(ScriptAwareTokenizer.get_default_config()).process_training_data(
        TrainingData(messages)
    )
    classifier.train(TrainingData(messages))
    return classifier


def test_it_classifies_from_tokens_and_ranks_every_intent(
    default_model_storage, default_execution_context
) -> None:  # type: ignore[no-untyped-def]
    classifier = trained(default_model_storage, default_execution_context)
    messages = tokenized(["สวัสดีค่ะ", "hotline phone number", "please cancel report"])
    classifier.process(messages)
    assert [m.get(INTENT)["name"] for m in messages] == ["greet", "ask_hotlines", "cancel_report"]
    ranking = messages[0].get(INTENT_RANKING_KEY)
    assert {entry["name"] for entry in ranking} == set(EXAMPLES)
    assert abs(sum(entry["confidence"] for entry in ranking) - 1.0) < 1e-6


def test_it_blends_the_previous_ranking_by_its_weight(
    default_model_storage, default_execution_context
) -> None:  # type: ignore[no-untyped-def]
    alone = trained(default_model_storage, default_execution_context, previous_weight=0.0)
    blended = trained(default_model_storage, default_execution_context, previous_weight=0.3)
    [plain] = alone.process(tokenized(["hello"]))
    [message] = tokenized(["hello"])
    message.set(INTENT_RANKING_KEY, [{"name": "ask_hotlines", "confidence": 1.0}])
    blended.process([message])
    linear = {e["name"]: e["confidence"] for e in plain.get(INTENT_RANKING_KEY)}
    mixed = {e["name"]: e["confidence"] for e in message.get(INTENT_RANKING_KEY)}
    assert abs(mixed["ask_hotlines"] - (0.7 * linear["ask_hotlines"] + 0.3)) < 1e-6
    assert abs(mixed["greet"] - 0.7 * linear["greet"]) < 1e-6


def test_a_loaded_classifier_gives_the_same_ranking(
    default_model_storage, default_execution_context
) -> None:  # type: ignore[no-untyped-def]
    classifier = trained(default_model_storage, default_execution_context)
    loaded = BlendedLinearIntentClassifier.load(
        {**BlendedLinearIntentClassifier.get_default_config()},
        default_model_storage,
        Resource("linear"),
        default_execution_context,
    )
    texts = ["ขอเบอร์โทรหน่อย", "hi", "cancel"]
    before = classifier.process(tokenized(texts))
    after = loaded.process(tokenized(texts))
    for first, second in zip(before, after, strict=True):
        assert first.get(INTENT_RANKING_KEY) == second.get(INTENT_RANKING_KEY)
