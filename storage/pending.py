"""Pending choices: what a button means, kept in the database so buttons survive a restart.

A button carries only a short opaque key (Telegram allows 64 bytes of callback data,
Discord 100 characters of custom id); the meaning (kind + JSON payload) stays here until
it is answered or expires. Keys are random, so a key from one chat is no use in another.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from storage.clock import Clock, from_ms, to_ms, utc_now

KEY_BYTES = 9
"""Random bytes per key: 12 URL-safe characters, 72 bits."""


@dataclass(frozen=True, slots=True)
class PendingChoice:
    key: str
    app: str
    chat_id: str
    kind: str
    payload: Any
    created_at: datetime
    expires_at: datetime


_COLUMNS = "key, app, chat_id, kind, payload, created_at, expires_at"


class PendingChoices:
    def __init__(self, conn: aiosqlite.Connection, *, clock: Clock = utc_now) -> None:
        self._conn = conn
        self._clock = clock

    async def put(
        self, *, app: str, chat_id: int | str, kind: str, payload: Any, ttl: timedelta
    ) -> str:
        """Remember what a button means for ``ttl``; return the key to put on the button."""
        if not app or not kind:
            raise ValueError("a pending choice needs an app and a kind")
        if ttl <= timedelta(0):
            raise ValueError(f"ttl must be positive, not {ttl}")
        try:
            encoded = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"payload of a {kind!r} choice is not JSON: {exc}") from exc
        now = self._clock()
        for _ in range(3):
            key = secrets.token_urlsafe(KEY_BYTES)
            try:
                await self._conn.execute(
                    f"INSERT INTO pending_choices ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (key, app, str(chat_id), kind, encoded, to_ms(now), to_ms(now + ttl)),
                )
            except sqlite3.IntegrityError:
                continue  # a 72-bit collision: draw again
            return key
        raise RuntimeError("could not draw an unused pending-choice key")

    async def get(
        self, key: str, *, app: str | None = None, chat_id: int | str | None = None
    ) -> PendingChoice | None:
        """The choice behind ``key``; ``None`` if unknown, expired, or of another chat."""
        choice = await self._load(key)
        if choice is None or not _belongs(choice, app, chat_id):
            return None
        return choice if choice.expires_at > self._clock() else None

    async def pop(
        self, key: str, *, app: str | None = None, chat_id: int | str | None = None
    ) -> PendingChoice | None:
        """Take the choice out: of two presses of one button, exactly one gets it."""
        choice = await self._load(key)
        if choice is None or not _belongs(choice, app, chat_id):
            return None
        cursor = await self._conn.execute("DELETE FROM pending_choices WHERE key = ?", (key,))
        if cursor.rowcount != 1:
            return None  # another press took it between our read and our delete
        return choice if choice.expires_at > self._clock() else None

    async def purge_expired(self) -> int:
        """Delete every expired choice; return how many."""
        cursor = await self._conn.execute(
            "DELETE FROM pending_choices WHERE expires_at <= ?", (to_ms(self._clock()),)
        )
        return cursor.rowcount

    async def _load(self, key: str) -> PendingChoice | None:
        async with self._conn.execute(
            f"SELECT {_COLUMNS} FROM pending_choices WHERE key = ?", (key,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _from_row(tuple(row))


def _belongs(choice: PendingChoice, app: str | None, chat_id: int | str | None) -> bool:
    if app is not None and choice.app != app:
        return False
    return chat_id is None or choice.chat_id == str(chat_id)


def _from_row(row: Sequence[Any]) -> PendingChoice:
    key, app, chat_id, kind, payload, created_at, expires_at = row
    return PendingChoice(
        key, app, chat_id, kind, json.loads(payload), from_ms(created_at), from_ms(expires_at)
    )
