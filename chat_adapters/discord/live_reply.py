"""A Discord live reply: one message edited in place, with a Stop button until it is
finalized. A long turn's answer comes as a new message mentioning the asker (an edit
never notifies), and the live message goes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from chat_adapters.discord.components import stop_view
from chat_adapters.discord.rendering import chunks, compose, mention, press_chat
from chat_adapters.interactions import StopPress
from chat_adapters.long_turns import TurnClock
from chat_adapters.surface import MessageRef, StopCallback, check_finalize, check_open
from chat_adapters.text_split import fence_closer

if TYPE_CHECKING:
    from chat_adapters.discord.surface import DiscordSurface, Posted


class DiscordLiveReply:
    """See the module doc."""

    def __init__(self, surface: DiscordSurface, on_stop: StopCallback | None) -> None:
        self._surface = surface
        self._stop = StopPress(on_stop) if on_stop is not None else None
        self._posted: Posted | None = None
        self._shown: str | None = None
        self._stop_key: str | None = None
        self._finalized = False
        self._lock = asyncio.Lock()
        self._clock = TurnClock(surface.notify_after_s)

    async def update(self, text: str, status: Sequence[str] = ()) -> None:
        check_open(self._finalized)
        # A half-streamed code block is closed for display, so it renders as code.
        content = compose(text + fence_closer(text), status)
        if not content.strip():
            return
        async with self._lock:
            check_open(self._finalized)
            if content == self._shown:
                return
            if self._posted is None:
                view = None
                if self._stop is not None:
                    self._stop_key = await self._surface.interactions.open(
                        press_chat(self._surface.chat_key), self._stop.pressed, kind="stop"
                    )
                    view = stop_view(self._stop_key)
                self._posted = await self._surface.post(content, view=view)
            else:
                await self._surface.edit(self._posted, content)
            self._shown = content

    async def finalize(self, text: str, status: Sequence[str] = ()) -> MessageRef:
        check_finalize(self._finalized, text, status)
        self._finalized = True
        if self._stop is not None:
            self._stop.finished = True
        surface = self._surface
        async with self._lock:
            requester = surface.requester_id
            ping = mention(requester) if requester and self._clock.took_long() else None
            budget = surface.capabilities.text_budget - (len(ping[0]) + 1 if ping else 0)
            parts = chunks(text, budget) or [""]
            last = len(parts) - 1
            contents = [compose(part, status if i == last else ()) for i, part in enumerate(parts)]
            if ping is not None:
                # An edit does not notify: a long turn's answer is a new message that
                # mentions the asker, and the live message goes.
                contents[0] = f"{ping[0]} {contents[0]}"
            try:
                if ping is not None:
                    first = await surface.post(contents[0], mentions=ping[1])
                    if self._posted is not None:
                        await surface.delete(self._posted)
                elif self._posted is None:
                    first = await surface.post(contents[0])
                else:
                    first = self._posted
                    await surface.edit(first, contents[0], view=None, final=True)
            finally:
                if self._stop_key is not None:
                    await surface.interactions.close(self._stop_key)
            for content in contents[1:]:
                await surface.post(content)
            return MessageRef(str(first.message_id))
