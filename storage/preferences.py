"""Per chat (or thread/topic) preferences: where it works and which session it follows.

A chat either follows the newest session in its directory (``pinned_session_id`` is
``None``) or is pinned to one Claude session id: a pointer, never a copy of session
state. ``None`` in ``directory``, ``model``, ``verbosity`` or ``permission_mode`` means
"use the configured default", so changing a setting reaches every chat that never chose.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from session_core.vocabulary import APPS, PERMISSION_MODES
from storage.clock import Clock, from_ms, to_ms, utc_now


@dataclass(frozen=True, slots=True)
class ChatKey:
    """One conversation surface: a chat, or a thread/topic inside it (``""`` = none)."""

    app: str
    chat_id: str
    thread_id: str = ""

    def __post_init__(self) -> None:
        if self.app not in APPS:
            raise ValueError(f"app must be one of {', '.join(APPS)}, not {self.app!r}")
        for name in ("chat_id", "thread_id"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a str; use ChatKey.of() to convert ids")
        if not self.chat_id:
            raise ValueError("chat_id must not be empty")

    @classmethod
    def of(cls, app: str, chat_id: int | str, thread_id: int | str | None = None) -> ChatKey:
        """Build a key from the ids an app hands out (ints on both platforms)."""
        return cls(app, str(chat_id), "" if thread_id is None else str(thread_id))


@dataclass(frozen=True, slots=True)
class ChatPreferences:
    directory: str | None = None
    pinned_session_id: str | None = None
    force_new: bool = False
    """The next message starts a new session (set by ``/new``, cleared once used)."""
    model: str | None = None
    verbosity: int | None = None
    permission_mode: str | None = None
    last_seen_session_id: str | None = None
    """The session the chat last talked to, so a follow-latest switch can be announced."""
    updated_at: datetime | None = None
    """When these were last saved; ``None`` for a chat that never saved any."""

    def __post_init__(self) -> None:
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value):
                raise ValueError(f"{name} must be a non-empty str or None, not {value!r}")
        if not isinstance(self.force_new, bool):
            raise ValueError(f"force_new must be True or False, not {self.force_new!r}")
        if self.verbosity is not None and (
            isinstance(self.verbosity, bool)
            or not isinstance(self.verbosity, int)
            or not 0 <= self.verbosity <= 2
        ):
            raise ValueError(f"verbosity must be 0, 1, 2 or None, not {self.verbosity!r}")
        if self.permission_mode is not None and self.permission_mode not in PERMISSION_MODES:
            raise ValueError(
                f"permission_mode must be one of {', '.join(PERMISSION_MODES)} or None, "
                f"not {self.permission_mode!r}"
            )

    @property
    def follows_latest(self) -> bool:
        return self.pinned_session_id is None


_TEXT_FIELDS = (
    "directory",
    "pinned_session_id",
    "model",
    "permission_mode",
    "last_seen_session_id",
)
_COLUMNS = tuple(f.name for f in dataclasses.fields(ChatPreferences) if f.name != "updated_at")
_SELECT = f"SELECT {', '.join(_COLUMNS)}, updated_at FROM chat_preferences"
_WHERE = " WHERE app = ? AND chat_id = ? AND thread_id = ?"


class PreferencesStore:
    def __init__(self, conn: aiosqlite.Connection, *, clock: Clock = utc_now) -> None:
        self._conn = conn
        self._clock = clock

    async def get(self, key: ChatKey) -> ChatPreferences:
        """The chat's preferences, or the defaults when it never saved any."""
        async with self._conn.execute(_SELECT + _WHERE, _key_params(key)) as cursor:
            row = await cursor.fetchone()
        return ChatPreferences() if row is None else _from_row(row)

    async def update(self, key: ChatKey, **changes: Any) -> ChatPreferences:
        """Change some fields and return the result; other fields keep their value.

        Only the named columns are written (one UPSERT), so two updates of different
        fields racing each other both land.
        """
        unknown = sorted(set(changes) - set(_COLUMNS))
        if unknown:
            raise ValueError(
                f"unknown preference(s) {', '.join(unknown)}; known: {', '.join(_COLUMNS)}"
            )
        dataclasses.replace(ChatPreferences(), **changes)  # validates before writing
        await self._upsert(key, changes)
        return await self.get(key)

    async def save(self, key: ChatKey, preferences: ChatPreferences) -> ChatPreferences:
        """Replace every field (``updated_at`` is set by the store)."""
        await self._upsert(key, {name: getattr(preferences, name) for name in _COLUMNS})
        return await self.get(key)

    async def thread_pinned_to(self, chat: ChatKey, session_id: str) -> ChatKey | None:
        """The newest thread of ``chat`` pinned to ``session_id``, so picking a session
        again returns to its thread instead of opening another."""
        async with self._conn.execute(
            "SELECT thread_id FROM chat_preferences WHERE app = ? AND chat_id = ? "
            "AND thread_id != '' AND pinned_session_id = ? ORDER BY updated_at DESC LIMIT 1",
            (chat.app, chat.chat_id, session_id),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else ChatKey(chat.app, chat.chat_id, str(row[0]))

    async def delete(self, key: ChatKey) -> bool:
        """Forget a chat's preferences; it goes back to the defaults."""
        cursor = await self._conn.execute("DELETE FROM chat_preferences" + _WHERE, _key_params(key))
        return cursor.rowcount > 0

    async def _upsert(self, key: ChatKey, changes: dict[str, Any]) -> None:
        columns = [*changes, "updated_at"]
        values = [_to_db(v) for v in changes.values()] + [to_ms(self._clock())]
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
        await self._conn.execute(
            f"INSERT INTO chat_preferences (app, chat_id, thread_id, {', '.join(columns)}) "
            f"VALUES (?, ?, ?, {', '.join('?' for _ in columns)}) "
            f"ON CONFLICT (app, chat_id, thread_id) DO UPDATE SET {updates}",
            (*_key_params(key), *values),
        )


def _key_params(key: ChatKey) -> tuple[str, str, str]:
    return (key.app, key.chat_id, key.thread_id)


def _to_db(value: object) -> object:
    return int(value) if isinstance(value, bool) else value


def _from_row(row: sqlite3.Row) -> ChatPreferences:
    *fields, updated_at = tuple(row)
    values = dict(zip(_COLUMNS, fields, strict=True))
    values["force_new"] = bool(values["force_new"])
    return ChatPreferences(**values, updated_at=from_ms(updated_at))
