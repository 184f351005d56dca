"""The channels the hotline speaks on, and their webhooks.

Each channel module in `bot/channels/` knows its platform's SDK and the
narrow `ChannelSink`; it opens itself from the settings (or stays off
without credentials), reads its own webhooks and delivers replies. The app
knows them only through this list. Adding a channel: write its module and
add its `open` here; its webhook is then `/webhooks/<name>` (`api/webhooks.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.channels.base import ChannelAdapter
from bot.channels.line import LineChannel
from bot.channels.telegram import TelegramChannel
from core.settings import Settings

Opener = Callable[..., Awaitable[ChannelAdapter | None]]

CHANNELS: tuple[Opener, ...] = (LineChannel.open, TelegramChannel.open)


async def open_channels(settings: Settings, *, polling: bool = False) -> dict[str, ChannelAdapter]:
    """The channels that have credentials, by name."""
    channels: dict[str, ChannelAdapter] = {}
    try:
        for open_channel in CHANNELS:
            channel = await open_channel(settings, polling=polling)
            if channel is not None:
                channels[channel.name] = channel
    except BaseException:
        await close_channels(channels)
        raise
    return channels


async def close_channels(channels: dict[str, ChannelAdapter]) -> None:
    for channel in reversed(channels.values()):
        await channel.close()
