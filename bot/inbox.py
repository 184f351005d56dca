"""The inbox: what LINE and Telegram deliver, safe on disk before the 200.

A webhook is acknowledged once its messages are written, encrypted, to a
file of their own and flushed to disk: no database round trip stands between
the platform and its 200. Under load the app's event loop is busy answering
workers, and every database round trip of a webhook waits its turn there;
LINE gives up after two seconds and sends the event again. The intake then
stores the messages in the database, in arrival order, and hands them to the
deliveries; only then is the file removed. After a crash or with the
database down, the files wait and are stored once it can be done; an event
stored twice is dropped by its platform id, as a redelivery is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Coroutine, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from bot.answering import Answering
from bot.background import stop_tasks
from bot.channels.base import ENGINE_KINDS, InboundMessage
from bot.conversations.models import MessageKind
from bot.dialogue import Dialogue
from bot.texts import Texts
from core.vault import Vault, VaultError

T = TypeVar("T")

logger = logging.getLogger(__name__)

SUFFIX = ".inbound"
# A file that cannot be read (damaged, or encrypted with a key no longer
# listed) is set aside under this suffix for an administrator, not retried;
# so is a message the hotline failed on for another reason than the database.
UNREADABLE = ".unreadable"
UNSTORED = ".unstored"
# Said once in a group chat the bot was added to, before it leaves.
GROUP_NOTICE = "group_not_supported"
GROUP_NOTICE_LANGUAGES = ("th", "en")


class Inbox:
    def __init__(self, folder: Path, vault: Vault) -> None:
        self._folder = folder
        self._vault = vault
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        # A write cut short by a crash was never acknowledged (the platform
        # delivers it again); its remains are only encrypted clutter.
        for partial in folder.glob(".*.partial"):
            partial.unlink(missing_ok=True)
        self._last = 0
        # Set when a file arrives; the intake waits on it.
        self.arrived = asyncio.Event()
        # What this process just wrote, so the intake need not read and
        # decrypt it again; after a restart the files are read.
        self._just_kept: dict[Path, list[InboundMessage]] = {}

    def keep(self, messages: Sequence[InboundMessage], *, suffix: str = SUFFIX) -> None:
        """Write the messages of one delivery to disk, durably.

        Synchronous on purpose: a small write and a flush take well under a
        millisecond on a local disk, while handing them to a thread would
        queue the webhook behind the event loop's other work once more.
        """
        if not messages:
            return
        # Names sort in arrival order, also within one nanosecond tick.
        self._last = max(time.time_ns(), self._last + 1)
        name = f"{self._last:020d}"
        content = self._vault.encrypt(json.dumps([asdict(m) for m in messages]).encode())
        partial = self._folder / f".{name}.partial"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, content)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        kept = self._folder / f"{name}{suffix}"
        os.replace(partial, kept)
        # The rename itself must survive a power cut too.
        folder = os.open(self._folder, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        if suffix == SUFFIX:
            self._just_kept[kept] = list(messages)
            self.arrived.set()

    def waiting(self) -> list[Path]:
        """Files not yet stored in the database, oldest first."""
        return sorted(self._folder.glob(f"*{SUFFIX}"))

    def read(self, path: Path) -> list[InboundMessage]:
        if path in self._just_kept:
            return self._just_kept[path]
        items = json.loads(self._vault.decrypt(path.read_bytes()))
        return [InboundMessage(**{**item, "kind": MessageKind(item["kind"])}) for item in items]

    async def done(self, paths: Sequence[Path]) -> None:
        """Remove files whose messages are stored.

        On a thread: removing a file waits for the disk, up to a millisecond
        or more, and the event loop answers workers meanwhile.
        """

        def remove() -> None:
            for path in paths:
                path.unlink(missing_ok=True)

        await asyncio.to_thread(remove)
        for path in paths:
            self._just_kept.pop(path, None)

    def set_aside(self, path: Path) -> None:
        path.rename(path.with_suffix(UNREADABLE))

    def set_aside_message(self, message: InboundMessage) -> None:
        self.keep([message], suffix=UNSTORED)


class Intake:
    """Stores what waits in the inbox, in order, and queues the answers."""

    def __init__(
        self,
        *,
        inbox: Inbox,
        dialogue: Dialogue,
        answering: Answering,
        texts: Texts,
        retry_seconds: float = 2.0,
    ) -> None:
        self._inbox = inbox
        self._texts = texts
        self._dialogue = dialogue
        self._answering = answering
        self._retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        # One store at a time: the start-up pass and the background task
        # must not store the same file side by side.
        self._storing = asyncio.Lock()

    # What channels hand over (`bot.channels.base.ChannelSink`).

    def keep(self, messages: Sequence[InboundMessage]) -> None:
        self._inbox.keep(messages)

    def spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        return self._answering.spawn(work)

    def group_notice(self, link: str | None) -> str:
        # Nobody in a group has chosen a language: Thai, which everybody
        # there may read, and English.
        parts = [self._texts.get(language, GROUP_NOTICE) for language in GROUP_NOTICE_LANGUAGES]
        if link:
            parts.append(link)
        return "\n\n".join(parts)

    async def store_waiting(self) -> bool:
        """Store every waiting file; False when the database could not be reached.

        Different workers' messages are stored side by side (one at a time
        would hold everybody up behind the database), each worker's in the
        order they arrived.
        """
        async with self._storing:
            batch: list[Path] = []
            by_worker: dict[tuple[str, str], list[InboundMessage]] = {}
            for path in self._inbox.waiting():
                try:
                    messages = self._inbox.read(path)
                except (VaultError, ValueError, TypeError, KeyError, OSError):
                    logger.error("inbox file %s unreadable, set aside", path.name)
                    with contextlib.suppress(OSError):
                        self._inbox.set_aside(path)
                    continue
                batch.append(path)
                for inbound in messages:
                    key = (inbound.channel, inbound.channel_user_id)
                    by_worker.setdefault(key, []).append(inbound)
            outcomes = await asyncio.gather(
                *(self._store_in_order(messages) for messages in by_worker.values()),
                return_exceptions=True,
            )
            failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
            if failures:
                # Kept, all of them: what was stored already is dropped as a
                # redelivery when the batch is stored again.
                logger.error("inbox waits, database unavailable: %s", type(failures[0]).__name__)
                return False
            await self._inbox.done(batch)
        return True

    async def _store_in_order(self, messages: list[InboundMessage]) -> None:
        for inbound in messages:
            try:
                await self._store(inbound)
            except (OperationalError, DBAPIError, OSError):
                raise
            except Exception:
                # A message the hotline fails on must not hold up everyone
                # else's forever: it is set aside, encrypted, for an
                # administrator, and the others go on.
                logger.exception("an inbound message could not be stored; set aside")
                self._inbox.set_aside_message(inbound)

    async def _store(self, inbound: InboundMessage) -> None:
        turn = await self._dialogue.accept(
            inbound,
            start_answer=self._answering.starter(inbound.channel, inbound.channel_user_id),
        )
        if turn is not None:
            self._answering.submit(
                inbound.channel,
                inbound.channel_user_id,
                turn.message_id,
                typing=inbound.kind in ENGINE_KINDS,
                turn=turn,
            )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-intake")

    async def _run(self) -> None:
        while True:
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancel that
            # comes just as a file arrives, and closing the app then waits
            # on this loop forever. asyncio.timeout lets the cancel through.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._retry_seconds):
                    await self._inbox.arrived.wait()
            self._inbox.arrived.clear()
            try:
                await self.store_waiting()
            except Exception:
                logger.exception("inbox intake failed")

    async def close(self) -> None:
        await stop_tasks([self._task])
