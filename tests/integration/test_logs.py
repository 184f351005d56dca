"""The logs of a running hotline hold no secrets and no worker's words.

Runs after every other test has driven the stack (the channels, reports,
the console), so the logs hold a whole run's worth of traffic.
"""

import re
import time

import httpx
import pytest

from tests.fakes.line_api import ACCESS_TOKEN, CHANNEL_SECRET
from tests.fakes.telegram_api import BOT_TOKEN, WEBHOOK_SECRET
from tests.support.stack import Stack

pytestmark = [pytest.mark.engine, pytest.mark.after_everything]

# Thai mobile numbers and those of Myanmar, Cambodia and Laos as workers type them.
PHONE_NUMBER = re.compile(
    r"(?<!\d)(?:\+?66|0)[689]\d{8}(?!\d)|(?<!\d)\+?(?:95|855|856)\d{7,10}(?!\d)"
)

# Words workers wrote in the integration tests.
WORKER_WORDS = ("မင်္ဂလာပါ", "ขอเบอร์โทรสายด่วน", "what number can I call", "សុំលេខទូរស័ព្ទជំនួយ")


def test_no_secret_or_message_text_in_the_logs(stack: Stack) -> None:
    # A web chat poll as pages before the identity cookie made them: the id
    # in the query string must not reach the access log.
    poll = httpx.get(f"{stack.app_url}/webchat/messages", params={"sender_id": "web-in-a-url"})
    assert poll.status_code == 200
    time.sleep(0.5)  # logged as the response goes
    logs = {
        name: (stack.logs / name).read_text(errors="replace") for name in ("app.log", "engine.log")
    }
    assert "webhooks/" in logs["app.log"], "the app log should show the traffic"
    secrets = (BOT_TOKEN, WEBHOOK_SECRET, ACCESS_TOKEN, CHANNEL_SECRET, stack.token)
    for name, text in logs.items():
        for secret in secrets:
            assert secret not in text, f"a secret is in {name}"
    for words in WORKER_WORDS:
        assert words not in logs["app.log"], f"a worker's words are in the app log: {words}"
    assert '"GET /webchat/messages HTTP/1.1" 200' in logs["app.log"]
    assert "web-in-a-url" not in logs["app.log"] and "/webchat/messages?" not in logs["app.log"]
    phone = PHONE_NUMBER.search(logs["app.log"])
    assert phone is None, "a phone number is in the app log"
