"""One paced :class:`~chat_adapters.outbox.Outbox` per Discord channel or thread.

Operations of one channel run one at a time at most once a second, a newer edit of a
message replaces a queued one, and a rate limit pauses the channel instead of failing.
discord.py waits out 429s by itself; the pacing keeps them from happening.
"""

from __future__ import annotations

import asyncio

import discord

from chat_adapters.discord.rendering import EDIT_INTERVAL_S
from chat_adapters.outbox import Outbox

SEND_BURST, SEND_BURST_WINDOW_S = 4, 5.5
"""New messages may go out unpaced, 4 per 5.5 s: under Discord's 5 per 5 s per channel."""


def retry_after_of(exc: BaseException) -> float | None:
    """discord.py waits out 429s itself; it raises only when told not to wait that long."""
    return exc.retry_after if isinstance(exc, discord.RateLimited) else None


class Outboxes:
    """One outbox per channel or thread, shared by every surface on it."""

    def __init__(self, *, min_interval_s: float = EDIT_INTERVAL_S) -> None:
        self._interval = min_interval_s
        self._by_channel: dict[int, Outbox] = {}

    def of(self, channel_id: int) -> Outbox:
        outbox = self._by_channel.get(channel_id)
        if outbox is None:
            outbox = Outbox(
                min_interval_s=self._interval,
                send_burst=SEND_BURST,
                send_window_s=SEND_BURST_WINDOW_S,
                retry_after=retry_after_of,
                name=f"discord:{channel_id}",
            )
            self._by_channel[channel_id] = outbox
        return outbox

    async def drain(self) -> None:
        """Wait until every channel's queue is empty (the caller bounds the wait)."""
        await asyncio.gather(*(o.drain() for o in list(self._by_channel.values())))

    async def aclose(self) -> None:
        """Deliver what is queued (the caller bounds the wait), then refuse more."""
        await asyncio.gather(*(o.aclose() for o in self._by_channel.values()))
