"""A Telegram live reply: one message edited in place while a turn runs.

It carries a Stop button until finalized. When something was said in the chat after
it, the live message moves down (sent anew, the old one deleted) so it stays where the
person reads; a long turn's answer comes as a new message replying to the prompt, so
the phone buzzes (an edit never notifies).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog
from telegram import InlineKeyboardMarkup, Message
from telegram.error import BadRequest

from chat_adapters.interactions import StopPress
from chat_adapters.long_turns import TurnClock
from chat_adapters.surface import MessageRef, StopCallback, check_finalize, check_open, fit_status
from chat_adapters.telegram.api import edit_target_gone, render_chunks
from chat_adapters.telegram.buttons import stop_keyboard
from chat_adapters.telegram.message_text import MessageText, join, status_text
from chat_adapters.text_split import fence_closer

if TYPE_CHECKING:
    from chat_adapters.telegram.surface import TelegramSurface

log = structlog.get_logger(__name__)


def preview(surface: TelegramSurface, text: str, status: Sequence[str]) -> MessageText:
    """What a live message shows now: the text so far (an open code fence closed so it
    renders as code), then the status lines, within one message."""
    caps = surface.capabilities
    lines = status_text(fit_status(status, caps))
    body = join(render_chunks(text + fence_closer(text)), "\n")
    room = caps.max_message_length - (lines.length + 2 if lines else 0)
    return join([body.truncated(room), lines])


class TelegramLiveReply:
    """One message edited in place while a turn runs, with a Stop button until finalized."""

    def __init__(self, surface: TelegramSurface, on_stop: StopCallback | None) -> None:
        self._surface = surface
        self._message_id: int | None = None
        self._stop_key: str | None = None
        self._stop = StopPress(on_stop) if on_stop is not None else None
        self._finalized = False
        self._lock = asyncio.Lock()
        self._sending: asyncio.Future[Message] | None = None
        self._typing = False
        self._clock = TurnClock(surface.notify_after_s)
        self._prompt_id = surface.prompt_id
        self._reply_to: int | None = None

    @property
    def message_id(self) -> int | None:
        return self._message_id

    async def update(self, text: str, status: Sequence[str] = ()) -> None:
        """Show this content. Calls may overlap: the first sends the message, later ones
        queue edits that the outbox coalesces (only the newest content is sent)."""
        check_open(self._finalized)
        content = preview(self._surface, text, status)
        if not content:
            return
        self._start_typing()
        markup = await self._stop_markup()
        async with self._lock:
            check_open(self._finalized)
            message_id = self._message_id
            buried = self._buried()
            if message_id is None or buried:
                # Shielded: a cancelled caller must not lose the id of a message that
                # is on its way (finalize still has to edit it).
                self._sending = asyncio.ensure_future(self._surface.send(content, markup))
                self._message_id = (await asyncio.shield(self._sending)).message_id
                if buried and message_id is not None:
                    await self._surface.delete(message_id)
                return
        await self._surface.edit(message_id, content, markup)

    def _buried(self) -> bool:
        """Something was said in the chat after the live message (a question, a queued
        notice, the person): it moves down, where the person is reading, instead of
        changing out of sight above."""
        message_id = self._message_id
        return message_id is not None and self._surface.newest_message_id > message_id

    async def finalize(self, text: str, status: Sequence[str] = ()) -> MessageRef:
        check_finalize(self._finalized, text, status)
        self._finalized = True
        if self._stop is not None:
            self._stop.finished = True
        async with self._lock:
            if self._message_id is None and self._sending is not None:
                with contextlib.suppress(Exception):  # failed: finalize sends anew
                    self._message_id = (await self._sending).message_id
            long = self._clock.took_long()
            if long:
                # An edit does not notify: a long turn's answer comes as a new message,
                # a reply to the prompt, so the phone buzzes.
                self._reply_to = self._prompt_id
            buried = self._message_id if self._buried() or long else None
            if buried is not None:
                self._message_id = None
            try:
                return await self._deliver(text, status)
            finally:
                if buried is not None:
                    await self._surface.delete(buried)
                await self._end()

    async def _deliver(self, text: str, status: Sequence[str]) -> MessageRef:
        surface = self._surface
        caps = surface.capabilities
        parts = render_chunks(text, caps.text_budget) if text.strip() else []
        last = join(
            [parts.pop() if parts else MessageText(""), status_text(fit_status(status, caps))]
        )
        if not last:
            last = MessageText(text.strip() or "…")
        parts.append(last)
        first_id = self._message_id
        if first_id is not None:
            try:
                await surface.edit(first_id, parts[0], final=True)
                parts = parts[1:]
            except BadRequest as exc:
                if not edit_target_gone(exc):
                    raise
                log.info("telegram_live_message_gone", message_id=first_id)
                first_id = None
        sent = await surface.send_many(parts, reply_to=self._reply_to) if parts else []
        first_id = first_id if first_id is not None else sent[0].message_id
        return MessageRef(str(first_id))

    async def _end(self) -> None:
        if self._typing:
            self._typing = False
            self._surface.typing.release()
        if self._stop is not None:
            self._stop.finished = True
        if self._stop_key is not None:
            key, self._stop_key = self._stop_key, None
            await self._surface.interactions.close(key)

    def _start_typing(self) -> None:
        if not self._typing:
            self._typing = True
            self._surface.typing.hold()

    async def _stop_markup(self) -> InlineKeyboardMarkup | None:
        if self._stop is None:
            return None
        if self._stop_key is None:
            surface = self._surface
            self._stop_key = await surface.interactions.open(
                str(surface.chat_id), self._stop.pressed, kind="stop"
            )
        return stop_keyboard(self._stop_key)
