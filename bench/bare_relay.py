"""The least a LINE relay on the hotline's stack does, for the load benchmark.

A signed webhook is checked and parsed with the LINE SDK and acknowledged;
in the background its text goes to the engine's REST channel and the answer
goes back with the SDK's reply call. Nothing is stored, ordered, retried or
encrypted, and nothing is answered but text: it is not a hotline. The
benchmark runs it beside the hotline to show what the two platform hops
alone (the webhook in, the reply out) cost against the engine answering on
its own, which is the most any relay on this stack can reach.

    uvicorn bench.bare_relay:app   (LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN,
                                    LINE_API_BASE_URL and RASA_URL set)

The worker's LINE user id is sent to the engine as the sender: the benchmark
uses ids of conversations the app knows, as the engine's actions look them up.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager
from typing import Annotated, Any

import aiohttp
from fastapi import FastAPI, Header, Request, Response
from linebot.v3 import WebhookParser
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhooks import MessageEvent, TextMessageContent

# LINE takes at most five messages in one reply call.
MOST_MESSAGES = 5


class Relay:
    def __init__(self) -> None:
        self.parser = WebhookParser(os.environ["LINE_CHANNEL_SECRET"])
        self.engine_url = os.environ["RASA_URL"].rstrip("/") + "/webhooks/rest/webhook"
        self.tasks: set[asyncio.Task[None]] = set()
        self.http: aiohttp.ClientSession | None = None
        self.line: AsyncMessagingApi | None = None

    async def open(self) -> None:
        self.http = aiohttp.ClientSession(trust_env=False)
        configuration = Configuration(
            access_token=os.environ["LINE_CHANNEL_ACCESS_TOKEN"],
            host=os.environ["LINE_API_BASE_URL"].rstrip("/"),
        )
        self.line = AsyncMessagingApi(AsyncApiClient(configuration))

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.http is not None:
            await self.http.close()
        if self.line is not None:
            await self.line.api_client.close()

    def take(self, body: str, signature: str) -> None:
        for event in self.parser.parse(body, signature):
            if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
                task = asyncio.create_task(self.answer(event))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    async def answer(self, event: Any) -> None:
        assert self.http is not None and self.line is not None
        request = {"sender": event.source.user_id, "message": event.message.text}
        async with self.http.post(self.engine_url, json=request) as response:
            answers = await response.json()
        texts = [item["text"] for item in answers if item.get("text")][:MOST_MESSAGES]
        await self.line.reply_message(
            ReplyMessageRequest(
                reply_token=event.reply_token, messages=[TextMessage(text=t) for t in texts]
            )
        )


relay = Relay()


@asynccontextmanager
async def lifespan(_: FastAPI) -> Any:
    await relay.open()
    yield
    await relay.close()


app = FastAPI(lifespan=lifespan)


@app.post("/webhooks/line")
async def line_webhook(
    request: Request, signature: Annotated[str, Header(alias="X-Line-Signature")]
) -> Response:
    relay.take((await request.body()).decode("utf-8"), signature)
    return Response(status_code=200)
