"""The inbound ledger: every prompt a chat sends is on disk before it is acknowledged.

The dispatcher calls :meth:`InboundLedger.accept` before it queues (and so before the
"queued" reply or the turn's first output), :meth:`started` when its turn has a session
and :meth:`finish` when the turn ends, whatever the outcome. Rows still open at the next
start are prompts a crash interrupted; :mod:`chat_adapters.recovery` runs them again.

When the database cannot be written (a full or read-only data dir) the prompt still
runs now: losing what the person typed would be worse than losing its crash-safety.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable
from dataclasses import dataclass

import structlog

from storage import ChatKey, InboundPrompt, InboundPrompts
from storage.clock import utc_now

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Accepted:
    """The ledger's answer: run it or not, and whether it is kept across a crash."""

    run: bool
    durable: bool
    warning: str | None = None
    """Something to tell the chat first (once per chat: the data dir cannot be written)."""


class InboundLedger:
    def __init__(self, store: InboundPrompts) -> None:
        self.store = store
        self.started_at = utc_now()
        self._replaying: set[tuple[ChatKey, str]] = set()
        self._recovered: set[tuple[ChatKey, str]] = set()
        self._warned: set[ChatKey] = set()

    async def accept(
        self,
        chat: ChatKey,
        message_id: str | None,
        *,
        user_id: str,
        text: str,
        display_name: str = "",
        mention: str = "",
        attachments: int = 0,
    ) -> Accepted:
        """Record a prompt before it is acknowledged; ``run=False`` for a redelivery."""
        if message_id is None:
            return Accepted(run=True, durable=False)
        key = (chat, message_id)
        if key in self._replaying:
            self._replaying.discard(key)
            return Accepted(run=True, durable=True)
        try:
            added = await self.store.add(
                chat,
                message_id,
                user_id=user_id,
                text=text,
                display_name=display_name,
                mention=mention,
                attachments=attachments,
            )
        except sqlite3.Error as exc:
            log.warning("inbound_not_recorded", chat=_text(chat), error=str(exc))
            warning = None
            if chat not in self._warned:
                self._warned.add(chat)
                warning = (
                    f"⚠️ The bot cannot write its database ({exc}). Your message runs now, "
                    "but messages would not survive a restart until that is fixed."
                )
            return Accepted(run=True, durable=False, warning=warning)
        if not added:
            log.info("inbound_redelivered", chat=_text(chat), message_id=message_id)
        return Accepted(run=added, durable=added)

    async def started(self, chat: ChatKey, message_id: str | None, session_id: str) -> None:
        if message_id is not None:
            await self._quietly(self.store.started(chat, message_id, session_id))

    async def finish(self, chat: ChatKey, message_id: str | None) -> None:
        if message_id is not None:
            await self._quietly(self.store.finish(chat, message_id))

    async def interrupted(self, app: str) -> list[InboundPrompt]:
        """Open prompts of ``app`` from before this process started, each handed out once."""
        try:
            await self.store.purge()
            found = await self.store.unfinished(app)
        except sqlite3.Error as exc:
            log.warning("inbound_unreadable", app=app, error=str(exc))
            return []
        fresh = [
            p
            for p in found
            if p.received_at < self.started_at and (p.chat, p.message_id) not in self._recovered
        ]
        self._recovered.update((p.chat, p.message_id) for p in fresh)
        return fresh

    def replay(self, prompt: InboundPrompt) -> None:
        """The next ``accept`` of this prompt runs it although its row exists."""
        self._replaying.add((prompt.chat, prompt.message_id))

    async def _quietly(self, write: Awaitable[None]) -> None:
        try:
            await write
        except sqlite3.Error as exc:
            log.warning("inbound_not_updated", error=str(exc))


def _text(chat: ChatKey) -> str:
    return f"{chat.app}:{chat.chat_id}" + (f":{chat.thread_id}" if chat.thread_id else "")
