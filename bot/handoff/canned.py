"""Ready-made replies staff can send: catalog messages named `canned.<topic>.<name>`.

The worker receives the reply in their own language from the catalogs while
the staff member reads it in theirs, so a Thai-speaking staff member can
answer a Khmer-speaking worker with words a translator has checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.texts import Texts

PREFIX = "canned."
# Topics in the order staff meet them in a conversation; others follow.
TOPIC_ORDER = ("greeting", "questions", "safety", "referral", "closing")


@dataclass(frozen=True)
class CannedReply:
    id: str
    topic: str
    text: str  # in the language the staff member reads


@dataclass(frozen=True)
class CannedTopic:
    topic: str
    replies: list[CannedReply]


def is_canned(message_id: str) -> bool:
    return message_id.startswith(PREFIX) and message_id.count(".") == 2


def canned_replies(texts: Texts, *, language: str) -> list[CannedTopic]:
    by_topic: dict[str, list[CannedReply]] = {}
    for message_id in sorted(texts.message_ids()):
        if not is_canned(message_id):
            continue
        topic = message_id.split(".")[1]
        by_topic.setdefault(topic, []).append(
            CannedReply(id=message_id, topic=topic, text=texts.get(language, message_id))
        )

    def rank(topic: str) -> tuple[int, str]:
        return (TOPIC_ORDER.index(topic) if topic in TOPIC_ORDER else len(TOPIC_ORDER), topic)

    return [CannedTopic(topic=t, replies=by_topic[t]) for t in sorted(by_topic, key=rank)]
