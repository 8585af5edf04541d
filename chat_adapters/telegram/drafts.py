"""A live reply streamed as a Telegram message draft (``sendMessageDraft``, Bot API 9.3).

In a private chat the draft animates at the bottom of the chat while the turn runs,
without the one-edit-a-second pace of editing a sent message; the answer is then sent
as a new message, which notifies (an edit never does). A draft carries no buttons, so
while a turn that can be stopped runs, a small message with the Stop button stands
above it, and goes when the answer arrives. Groups and topics keep the edited message.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog
from telegram.error import TelegramError

from chat_adapters.interactions import StopPress
from chat_adapters.surface import MessageRef, StopCallback, check_finalize, check_open
from chat_adapters.telegram.buttons import stop_keyboard
from chat_adapters.telegram.live_reply import TelegramLiveReply, preview
from chat_adapters.telegram.message_text import MessageText

if TYPE_CHECKING:
    from chat_adapters.telegram.surface import TelegramSurface

log = structlog.get_logger(__name__)

DRAFT_INTERVAL_S = 0.3
"""Least time between two drafts of one reply: smooth, yet a handful of calls a second."""
DRAFT_REFRESH_S = 20.0
"""A draft is a preview that fades after about 30 s: shown again while a long tool runs."""
WORKING = "⏳ Working on it…"
_draft_ids = itertools.count(1)
"""Draft ids only need to be non-zero and distinct for the replies of one chat."""


class DraftLiveReply:
    """:class:`~chat_adapters.surface.LiveReply` over drafts; see the module doc."""

    def __init__(self, surface: TelegramSurface, on_stop: StopCallback | None) -> None:
        self._surface = surface
        self._draft_id = next(_draft_ids)
        self._finalized = False
        self._stop = StopPress(on_stop) if on_stop is not None else None
        self._broken = False
        self._lock = asyncio.Lock()
        self._control: int | None = None
        self._stop_key: str | None = None
        self.drafts_sent = 0
        self._shown: MessageText | None = None
        self._refresher: asyncio.Task[None] | None = None

    async def update(self, text: str, status: Sequence[str] = ()) -> None:
        check_open(self._finalized)
        # The same preview as an edited live message: what shows is what would show.
        content = preview(self._surface, text, status)
        if not content:
            return
        async with self._lock:
            check_open(self._finalized)
            if self._stop is not None and self._control is None:
                await self._show_stop()
            if not self._broken:
                await self._send_draft(content)
                self._shown = content
                if self._refresher is None:
                    self._refresher = asyncio.get_running_loop().create_task(self._refresh())

    async def finalize(self, text: str, status: Sequence[str] = ()) -> MessageRef:
        check_finalize(self._finalized, text, status)
        self._finalized = True
        if self._stop is not None:
            self._stop.finished = True
        async with self._lock:
            try:
                # A live reply that never showed anything sends its answer anew.
                return await TelegramLiveReply(self._surface, None).finalize(text, status)
            finally:
                await self._end()

    async def _send_draft(self, content: MessageText) -> None:
        surface = self._surface
        try:
            await surface.bot.send_message_draft(
                surface.chat_id,
                self._draft_id,
                text=content.text,
                entities=content.entities or None,
            )
            self.drafts_sent += 1
        except TelegramError as exc:
            # A server without drafts: the answer still arrives, as a new message.
            log.warning("telegram_draft_failed", error=repr(exc))
            self._broken = True

    async def _show_stop(self) -> None:
        surface = self._surface
        assert self._stop is not None
        self._stop_key = await surface.interactions.open(
            str(surface.chat_id), self._stop.pressed, kind="stop"
        )
        sent = await surface.send(MessageText(WORKING), stop_keyboard(self._stop_key))
        self._control = sent.message_id

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(DRAFT_REFRESH_S)
            async with self._lock:
                if self._finalized or self._broken or self._shown is None:
                    return
                await self._send_draft(self._shown)

    async def _end(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
        if self._stop_key is not None:
            key, self._stop_key = self._stop_key, None
            await self._surface.interactions.close(key)
        if self._control is not None:
            await self._surface.delete(self._control)
