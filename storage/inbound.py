"""Inbound prompts: what a chat sent, written before the bot acknowledges it.

A row is keyed by the app's own id for the message (app + chat + thread + message id),
so a redelivered update finds its row and is not run twice. It stays open until its
turn ends (any outcome); rows still open at start-up are prompts a crash interrupted.
Finished rows are kept a while (redeliveries come soon after) and then purged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from storage.clock import Clock, from_ms, to_ms, utc_now
from storage.preferences import ChatKey

KEEP_FINISHED = timedelta(days=2)
"""Finished rows older than this are purged: long past any redelivery."""


@dataclass(frozen=True, slots=True)
class InboundPrompt:
    chat: ChatKey
    message_id: str
    user_id: str
    display_name: str
    mention: str
    text: str
    attachments: int
    """How many files came with it (the files themselves are not kept here)."""
    received_at: datetime
    session_id: str | None
    """The session its turn started on, once it started."""


_COLUMNS = (
    "app, chat_id, thread_id, message_id, user_id, display_name, mention, text, "
    "attachments, received_at, session_id"
)


class InboundPrompts:
    def __init__(self, conn: aiosqlite.Connection, *, clock: Clock = utc_now) -> None:
        self._conn = conn
        self._clock = clock

    async def add(
        self,
        chat: ChatKey,
        message_id: str,
        *,
        user_id: str,
        text: str,
        display_name: str = "",
        mention: str = "",
        attachments: int = 0,
    ) -> bool:
        """Record a prompt; ``False`` when this message id was recorded before."""
        if not message_id:
            raise ValueError("an inbound prompt needs the app's message id")
        cursor = await self._conn.execute(
            f"INSERT OR IGNORE INTO inbound_prompts ({_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                chat.app,
                chat.chat_id,
                chat.thread_id,
                message_id,
                user_id,
                display_name,
                mention,
                text,
                attachments,
                to_ms(self._clock()),
            ),
        )
        return cursor.rowcount == 1

    async def started(self, chat: ChatKey, message_id: str, session_id: str) -> None:
        await self._conn.execute(
            "UPDATE inbound_prompts SET session_id = ? "
            "WHERE app = ? AND chat_id = ? AND thread_id = ? AND message_id = ?",
            (session_id, *_key(chat, message_id)),
        )

    async def finish(self, chat: ChatKey, message_id: str) -> None:
        """Its turn ended (answered, failed, stopped) or it was dropped: not to be rerun."""
        await self._conn.execute(
            "UPDATE inbound_prompts SET finished_at = ? WHERE app = ? AND chat_id = ? "
            "AND thread_id = ? AND message_id = ? AND finished_at IS NULL",
            (to_ms(self._clock()), *_key(chat, message_id)),
        )

    async def unfinished(self, app: str) -> list[InboundPrompt]:
        """Open prompts of ``app``, oldest first (the order they were sent)."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM inbound_prompts WHERE app = ? AND finished_at IS NULL "
            "ORDER BY received_at, rowid",
            (app,),
        )
        return [
            InboundPrompt(
                chat=ChatKey(app_, chat_id, thread_id),
                message_id=message_id,
                user_id=user_id,
                display_name=display_name,
                mention=mention,
                text=text,
                attachments=attachments,
                received_at=from_ms(received),
                session_id=session_id,
            )
            for (
                app_,
                chat_id,
                thread_id,
                message_id,
                user_id,
                display_name,
                mention,
                text,
                attachments,
                received,
                session_id,
            ) in rows
        ]

    async def purge(self) -> int:
        """Drop finished rows older than ``KEEP_FINISHED``; how many went."""
        cursor = await self._conn.execute(
            "DELETE FROM inbound_prompts WHERE finished_at IS NOT NULL AND finished_at < ?",
            (to_ms(self._clock() - KEEP_FINISHED),),
        )
        return cursor.rowcount


def _key(chat: ChatKey, message_id: str) -> tuple[str, str, str, str]:
    return (chat.app, chat.chat_id, chat.thread_id, message_id)
