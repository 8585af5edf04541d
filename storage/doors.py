"""Which doors a session was last used from: a session id, a door name and a time.

Nothing else about the session is kept here (Claude Code's files are the truth); this
only lets the catalog say "last used from Telegram 5 min ago, terminal yesterday".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from session_core.vocabulary import DOORS
from storage.clock import Clock, from_ms, to_ms, utc_now

_BATCH = 500
"""Ids per query in ``doors_for``; stays under SQLite's bound-parameter limit."""


@dataclass(frozen=True, slots=True)
class DoorUse:
    door: str
    last_used_at: datetime


class DoorLog:
    def __init__(self, conn: aiosqlite.Connection, *, clock: Clock = utc_now) -> None:
        self._conn = conn
        self._clock = clock

    async def touch(self, session_id: str, door: str, *, at: datetime | None = None) -> DoorUse:
        """Record a use; an older ``at`` (e.g. read from history) never moves time back."""
        if door not in DOORS:
            raise ValueError(f"door must be one of {', '.join(DOORS)}, not {door!r}")
        if not session_id:
            raise ValueError("session_id must not be empty")
        moment = to_ms(self._clock() if at is None else at)
        await self._conn.execute(
            "INSERT INTO session_doors (session_id, door, last_used_at) VALUES (?, ?, ?) "
            "ON CONFLICT (session_id, door) "
            "DO UPDATE SET last_used_at = MAX(last_used_at, excluded.last_used_at)",
            (session_id, door, moment),
        )
        return DoorUse(door, from_ms(moment))

    async def doors(self, session_id: str) -> list[DoorUse]:
        """The doors this session was used from, most recent first."""
        return (await self.doors_for([session_id])).get(session_id, [])

    async def doors_for(self, session_ids: Iterable[str]) -> dict[str, list[DoorUse]]:
        """Doors of many sessions in a few queries (a catalog page at once).

        Sessions never used through a door are absent from the result.
        """
        ids = list(dict.fromkeys(session_ids))
        found: dict[str, list[DoorUse]] = {}
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start : start + _BATCH]
            rows = await self._conn.execute_fetchall(
                "SELECT session_id, door, last_used_at FROM session_doors "
                f"WHERE session_id IN ({', '.join('?' for _ in chunk)}) "
                "ORDER BY session_id, last_used_at DESC, door",
                chunk,
            )
            for session_id, door, last_used_at in rows:
                found.setdefault(session_id, []).append(DoorUse(door, from_ms(last_used_at)))
        return found
