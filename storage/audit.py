"""The audit log: who asked for what, when, and whether it was allowed.

Refusals matter most (an unknown user knocking), so they can be counted on their own.
``detail`` is capped: the log says what happened, it is not a second transcript, and a
caller must never put a secret in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from storage.clock import Clock, from_ms, to_ms, utc_now

DETAIL_LIMIT = 1000
"""Characters of ``detail`` kept; longer text is cut and ends with an ellipsis."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    app: str
    user_id: str
    chat_id: str
    action: str
    detail: str
    allowed: bool


_COLUMNS = "id, at, app, user_id, chat_id, action, detail, allowed"


class AuditLog:
    def __init__(self, conn: aiosqlite.Connection, *, clock: Clock = utc_now) -> None:
        self._conn = conn
        self._clock = clock

    async def record(
        self,
        *,
        app: str,
        user_id: int | str,
        action: str,
        allowed: bool,
        chat_id: int | str = "",
        detail: str = "",
    ) -> AuditEntry:
        if not app or not action:
            raise ValueError("an audit entry needs an app and an action")
        if len(detail) > DETAIL_LIMIT:
            detail = detail[: DETAIL_LIMIT - 1] + "…"
        at = to_ms(self._clock())
        params = (at, app, str(user_id), str(chat_id), action, detail, int(bool(allowed)))
        cursor = await self._conn.execute(
            "INSERT INTO audit_log (at, app, user_id, chat_id, action, detail, allowed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            params,
        )
        assert cursor.lastrowid is not None
        return _from_row((cursor.lastrowid, *params))

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        """The newest entries first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM audit_log ORDER BY at DESC, id DESC LIMIT ?", (limit,)
        )
        return [_from_row(tuple(row)) for row in rows]

    async def prune(self, *, older_than_days: float) -> int:
        """Delete entries older than ``older_than_days`` (the retention); how many went."""
        if older_than_days <= 0:
            raise ValueError(f"older_than_days must be positive, not {older_than_days}")
        cutoff = to_ms(self._clock()) - int(older_than_days * 86_400_000)
        cursor = await self._conn.execute("DELETE FROM audit_log WHERE at < ?", (cutoff,))
        return max(cursor.rowcount, 0)

    async def search(
        self,
        *,
        since: datetime | None = None,
        app: str | None = None,
        user_id: str | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        """Entries at or after ``since`` by one app and/or user, oldest first (as read),
        the newest ``limit`` of them."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        where: list[str] = []
        params: list[object] = []
        if since is not None:
            where.append("at >= ?")
            params.append(to_ms(since))
        if app is not None:
            where.append("app = ?")
            params.append(app)
        if user_id is not None:
            where.append("user_id = ?")
            params.append(user_id)
        sql = f"SELECT {_COLUMNS} FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = await self._conn.execute_fetchall(
            f"{sql} ORDER BY at DESC, id DESC LIMIT ?", (*params, limit)
        )
        return [_from_row(tuple(row)) for row in reversed(list(rows))]

    async def count(self, *, allowed: bool | None = None) -> int:
        """How many entries; only refusals with ``allowed=False``."""
        sql = "SELECT COUNT(*) FROM audit_log"
        params: tuple[int, ...] = ()
        if allowed is not None:
            sql, params = f"{sql} WHERE allowed = ?", (int(allowed),)
        async with self._conn.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])


def _from_row(row: Sequence[Any]) -> AuditEntry:
    id_, at, app, user_id, chat_id, action, detail, allowed = row
    return AuditEntry(id_, from_ms(at), app, user_id, chat_id, action, detail, bool(allowed))
