"""Closing the app stops its background tasks, and never waits forever on one."""

import asyncio
import logging

import pytest

from bot.background import stop_tasks


async def test_a_task_that_swallows_its_cancel_does_not_hold_up_closing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        # As a library that swallows a cancel once (asyncio.wait_for on 3.11).
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.set()
        await asyncio.sleep(3600)

    stuck = asyncio.create_task(stubborn(), name="stubborn")
    waiting = asyncio.create_task(asyncio.sleep(3600), name="waiting")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="bot.background"):
        await stop_tasks([stuck, waiting, None], within=0.2)
    # The ordinary task stopped; the stubborn one was left running, and said so.
    assert waiting.cancelled()
    assert swallowed.is_set() and not stuck.done()
    assert "did not stop" in caplog.text and "stubborn" in caplog.text
    stuck.cancel()
    await asyncio.gather(stuck, return_exceptions=True)


async def test_tasks_that_stop_are_waited_for_quietly(caplog: pytest.LogCaptureFixture) -> None:
    finished: list[str] = []

    async def tidy() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            finished.append("tidied")

    task = asyncio.create_task(tidy())
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="bot.background"):
        await stop_tasks([task])
    assert finished == ["tidied"] and task.cancelled()
    assert caplog.text == ""


async def test_a_task_that_had_failed_is_reported_when_the_app_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise RuntimeError("the database went away")

    task = asyncio.create_task(broken(), name="broken")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="bot.background"):
        await stop_tasks([task])
    assert "broken" in caplog.text and "RuntimeError" in caplog.text
    # Only the type: an error's text may carry a URL with a platform token.
    assert "the database went away" not in caplog.text
