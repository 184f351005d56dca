"""A worker who floods is asked to slow down once; nothing they send is lost."""

from fastapi.testclient import TestClient

from api.app import create_app
from bot.texts import Texts
from core.settings import Settings
from tests.support import ChatWorker, stored_messages


def test_flooding_is_slowed_politely_and_everything_is_kept(settings: Settings) -> None:
    limited = settings.model_copy(update={"hotline_flood_messages": 3})
    texts = Texts(settings.hotline_locales_dir)
    with TestClient(create_app(limited)) as client:
        worker = ChatWorker(client)
        answers = [worker.say(f"hello {n}") for n in range(6)]
        # Danger words still bring the emergency numbers while flooding.
        danger = worker.say("help me please")
    slow_down = texts.get("en", "slow_down")
    assert all(reply["text"] != slow_down for batch in answers[:3] for reply in batch)
    assert [reply["text"] for reply in answers[3]] == [slow_down]
    assert answers[4] == [] and answers[5] == []
    assert danger[0]["text"] == texts.get("en", "emergency")
    stored = stored_messages(settings.hotline_database_url, worker.channel_user_id)
    inbound = [m for m in stored if m["direction"] == "inbound"]
    assert [m["original_text"] for m in inbound] == [f"hello {n}" for n in range(6)] + [
        "help me please"
    ]
    # Danger puts the worker in the staff queue: that message waits for staff.
    assert [m["status"] for m in inbound[3:]] == ["rate_limited"] * 3 + ["for_staff"]
