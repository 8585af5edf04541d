"""Usage per turn: what each turn cost, in dollars, tokens and time, and how it ended.

One row per finished turn, keyed by the Claude session id it ran in (a pointer, not
session state). ``/status`` reads the session's cost and today's cost from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from typing import Any

import aiosqlite

from storage.clock import Clock, from_ms, to_ms, utc_now

_COUNTERS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "duration_ms",
)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    id: int
    at: datetime
    app: str
    chat_id: str
    user_id: str
    session_id: str
    outcome: str
    cost_usd: float
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    duration_ms: int


@dataclass(frozen=True, slots=True)
class UsageTotals:
    turns: int = 0
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    duration_ms: int = 0


_COLUMNS = ("at", "app", "chat_id", "user_id", "session_id", "outcome", "cost_usd", *_COUNTERS)


class UsageLog:
    def __init__(self, conn: aiosqlite.Connection, *, clock: Clock = utc_now) -> None:
        self._conn = conn
        self._clock = clock

    async def record(
        self,
        *,
        app: str,
        session_id: str,
        outcome: str,
        chat_id: int | str = "",
        user_id: int | str = "",
        cost_usd: float = 0.0,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_creation_tokens: int = 0,
        duration_ms: int = 0,
    ) -> UsageRecord:
        if not app or not session_id or not outcome:
            raise ValueError("a usage record needs an app, a session id and an outcome")
        counters = (input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens)
        for name, value in zip(_COUNTERS, (*counters, duration_ms), strict=True):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, not {value!r}")
        if not isinstance(cost_usd, int | float) or not 0 <= cost_usd < float("inf"):
            raise ValueError(f"cost_usd must be a non-negative number, not {cost_usd!r}")
        at = to_ms(self._clock())
        ids = (str(chat_id), str(user_id), session_id)
        params = (at, app, *ids, outcome, float(cost_usd), *counters, duration_ms)
        cursor = await self._conn.execute(
            f"INSERT INTO usage ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
            params,
        )
        assert cursor.lastrowid is not None
        return _from_row((cursor.lastrowid, *params))

    async def session_cost(self, session_id: str) -> float:
        return (await self.totals(session_id=session_id)).cost_usd

    async def cost_since(self, since: datetime) -> float:
        return (await self.totals(since=since)).cost_usd

    async def cost_today(self, tz: tzinfo = UTC) -> float:
        """Cost since midnight today in ``tz`` (the person's day, not the server's)."""
        now = self._clock().astimezone(tz)
        return await self.cost_since(datetime.combine(now.date(), time(), tzinfo=tz))

    async def totals(
        self, *, session_id: str | None = None, since: datetime | None = None
    ) -> UsageTotals:
        """Sums over every turn, or those of one session and/or since a moment."""
        where: list[str] = []
        params: list[object] = []
        if session_id is not None:
            where.append("session_id = ?")
            params.append(session_id)
        if since is not None:
            where.append("at >= ?")
            params.append(to_ms(since))
        sums = ", ".join(f"TOTAL({c})" for c in ("cost_usd", *_COUNTERS))
        sql = f"SELECT COUNT(*), {sums} FROM usage"
        if where:
            sql += " WHERE " + " AND ".join(where)
        async with self._conn.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        turns, cost, *counters = row
        return UsageTotals(turns, cost, *(int(c) for c in counters))

    async def recent(self, limit: int = 50, *, session_id: str | None = None) -> list[UsageRecord]:
        """The newest turns first, of one session or of all."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        sql = f"SELECT id, {', '.join(_COLUMNS)} FROM usage"
        params: tuple[object, ...] = (limit,)
        if session_id is not None:
            sql += " WHERE session_id = ?"
            params = (session_id, limit)
        rows = await self._conn.execute_fetchall(sql + " ORDER BY at DESC, id DESC LIMIT ?", params)
        return [_from_row(tuple(row)) for row in rows]


def _from_row(row: Sequence[Any]) -> UsageRecord:
    id_, at, *rest = row
    return UsageRecord(id_, from_ms(at), *rest)
