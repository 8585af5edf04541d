"""The per-chat objects of the Telegram app: a surface per chat or forum topic and a
paced outbox per chat, made only for authorized chats and dropped once idle.

A chat is idle when nothing of it is in flight: no turn or queued prompt (the
dispatcher says), no open question, typing indicator or background edit on its surface,
nothing in its outbox, and no use for ``idle_s``. A sweep runs at most every
``sweep_every_s``, when a new chat's objects are made, so nothing grows with the number
of chats seen over weeks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from telegram import Bot

from chat_adapters.background import BackgroundTasks
from chat_adapters.interactions import Interactions
from chat_adapters.outbox import Outbox
from chat_adapters.telegram.api import outbox_for
from chat_adapters.telegram.surface import TelegramSurface

log = structlog.get_logger(__name__)

Key = tuple[int, int | None]
IDLE_S = 1800.0
SWEEP_EVERY_S = 60.0


class ChatObjects:
    def __init__(
        self,
        bot: Bot,
        interactions: Interactions,
        background: BackgroundTasks,
        *,
        in_use: Callable[[Key], bool] = lambda key: False,
        notify_after_s: float | None = None,
        drafts: bool = False,
        idle_s: float = IDLE_S,
        sweep_every_s: float = SWEEP_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.interactions = interactions
        self.background = background
        self._in_use = in_use
        self._notify_after_s = notify_after_s
        self._drafts = drafts
        self._idle_s = idle_s
        self._sweep_every_s = sweep_every_s
        self._clock = clock
        self._surfaces: dict[Key, TelegramSurface] = {}
        self._used: dict[Key, float] = {}
        self._outboxes: dict[int, Outbox] = {}
        self._swept = clock()
        self._closing: set[asyncio.Task[None]] = set()
        """Outboxes of dropped chats, closing: awaited (bounded) at shutdown."""

    def surface(self, chat_id: int, thread_id: int | None = None) -> TelegramSurface:
        """The chat's (or topic's) surface; call only once the sender is authorized."""
        key = (chat_id, thread_id)
        now = self._clock()
        surface = self._surfaces.get(key)
        if surface is None:
            if now - self._swept >= self._sweep_every_s:
                self.sweep()
            outbox = self._outboxes.get(chat_id)
            if outbox is None:
                outbox = self._outboxes[chat_id] = outbox_for(chat_id)
            surface = TelegramSurface(
                self.bot,
                chat_id,
                thread_id=thread_id,
                outbox=outbox,
                interactions=self.interactions,
                background=self.background,
                notify_after_s=self._notify_after_s,
                drafts=self._drafts,
            )
            self._surfaces[key] = surface
        self._used[key] = now
        return surface

    def __len__(self) -> int:
        return len(self._surfaces)

    @property
    def outboxes(self) -> int:
        return len(self._outboxes)

    def sweep(self) -> int:
        """Drop idle surfaces, and outboxes no surface uses; returns surfaces dropped."""
        now = self._swept = self._clock()
        idle = [
            key
            for key, surface in self._surfaces.items()
            if now - self._used.get(key, now) >= self._idle_s
            and surface.idle
            and not self._in_use(key)
        ]
        for key in idle:
            del self._surfaces[key]
            self._used.pop(key, None)
        kept = {chat_id for chat_id, _ in self._surfaces}
        for chat_id in [c for c, o in self._outboxes.items() if c not in kept and o.idle]:
            outbox = self._outboxes.pop(chat_id)
            task = self.background.spawn(outbox.aclose(), name=f"telegram:{chat_id}-outbox-close")
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        if idle:
            log.info("telegram_chats_dropped", dropped=len(idle), kept=len(self._surfaces))
        return len(idle)

    async def aclose(self, timeout_s: float) -> None:
        """Stop typing indicators and deliver what the outboxes hold (bounded)."""
        surfaces = list(self._surfaces.values())
        await asyncio.gather(*(s.aclose() for s in surfaces), return_exceptions=True)
        closing = [outbox.aclose() for outbox in self._outboxes.values()]
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.gather(*closing, *self._closing, return_exceptions=True)
        except TimeoutError:
            log.warning("telegram_outboxes_not_drained", timeout_s=timeout_s)
