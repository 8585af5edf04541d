"""The person's side of a TelegramSurface, read from the fake Bot API server.

For the surface conformance suite: the surface talks to :class:`FakeTelegram` through
real PTB, and the harness reads what the fake holds (text after edits, keyboards,
documents) and acts as the user (presses, typed replies). Presses and replies reach the
surface the way they do in the product: a polling PTB application hands callback
queries to ``TelegramSurface.on_button`` and typed text to ``saw`` + ``answer_typed``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from chat_adapters.outbox import Outbox
from chat_adapters.telegram.api import telegram_retry_after
from chat_adapters.telegram.surface import TelegramSurface
from tests.conformance.surface_suite import SeenMessage
from tests.fakes.telegram_api import ChatMessage, FakeTelegram, RateLimits

App = Application[Any, Any, Any, Any, Any, Any]
USER = 4242
WAIT_S = 10.0


def build_ptb(tg: FakeTelegram) -> App:
    return (
        ApplicationBuilder()
        .token(tg.token)
        .base_url(f"{tg.root_url}/bot")
        .base_file_url(f"{tg.root_url}/file/bot")
        .concurrent_updates(True)
        .build()
    )


@asynccontextmanager
async def polling(app: App) -> AsyncIterator[App]:
    """Start and stop PTB the way ``baton run`` does (no run_polling, no dropping)."""
    async with asyncio.timeout(WAIT_S):
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1)
    try:
        yield app
    finally:
        async with asyncio.timeout(WAIT_S):
            await app.updater.stop()
            await app.stop()
            await app.shutdown()


class TelegramHarness:
    """One private chat with :data:`USER`; see the module doc."""

    def __init__(self, tg: FakeTelegram, surface: TelegramSurface) -> None:
        self.tg = tg
        self._surface = surface
        self.typed: list[str] = []
        """Typed messages no prompt took (they would go to Claude)."""

    @property
    def surface(self) -> TelegramSurface:
        return self._surface

    @property
    def live_is_message(self) -> bool:
        return not self._surface.drafts

    @property
    def chat_id(self) -> int:
        return self._surface.chat_id

    async def route(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        if update.callback_query is not None:
            await self._surface.on_button(update.callback_query)
        elif update.message is not None and update.message.text is not None:
            self._surface.saw(update.message.message_id)  # as the update router does
            if not self._surface.answer_typed(update.message.text):
                self.typed.append(update.message.text)

    def bot_messages(self) -> list[ChatMessage]:
        return [m for m in self.tg.sent_messages(self.chat_id) if not m.deleted]

    async def seen(self) -> list[SeenMessage]:
        return [
            SeenMessage(
                str(m.message_id),
                m.body,
                tuple(b.text for row in m.buttons for b in row),
                m.document.file_name if m.document else None,
                m.document.data if m.document else None,
            )
            for m in self.bot_messages()
        ]

    async def click(self, label: str) -> None:
        target = next(
            m
            for m in reversed(self.bot_messages())
            if any(label == b.text for row in m.buttons for b in row)
        )
        press = self.tg.press_button(target, label=label, user_id=USER)
        await self.tg.wait_for_callback_answer(press, timeout=WAIT_S)

    async def reply(self, text: str) -> None:
        sent = self.tg.send_user_message(self.chat_id, USER, text)
        await self.tg.wait_for(
            lambda: self._surface.newest_message_id >= sent.message_id,
            timeout=WAIT_S,
            what=f"the bot to take message {sent.message_id}",
        )

    async def press_stop(self) -> bool:
        for message in reversed(self.bot_messages()):
            for row in message.buttons:
                for button in row:
                    if "Stop" in button.text:
                        press = self.tg.press_button(message, button.callback_data, USER)
                        await self.tg.wait_for_callback_answer(press, timeout=WAIT_S)
                        return True
        return False


@asynccontextmanager
async def telegram_harness(
    *, rate_limits: RateLimits | None = None, min_interval_s: float = 0.0, drafts: bool = False
) -> AsyncIterator[TelegramHarness]:
    """A fresh fake server, a polling PTB app and a surface for one private chat.

    Flood control is off and the outbox unpaced by default: the suite checks what the
    chat shows, and pacing is tested on its own with limits on.
    """
    limits = rate_limits or RateLimits(enabled=False)
    async with FakeTelegram(rate_limits=limits) as tg:
        tg.add_chat(USER)
        app = build_ptb(tg)
        outbox = Outbox(min_interval_s=min_interval_s, retry_after=telegram_retry_after)
        surface = TelegramSurface(app.bot, USER, outbox=outbox, drafts=drafts)
        harness = TelegramHarness(tg, surface)
        app.add_handler(TypeHandler(Update, harness.route))
        async with polling(app):
            try:
                yield harness
            finally:
                await surface.aclose()
                await outbox.aclose()
