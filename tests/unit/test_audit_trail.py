"""Audit rows off the hot path: refusals rate-limited per person, a locked database
delays the rows, never the decision."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from chat_adapters.audit_trail import AuditRow, AuditTrail
from storage import Database


def row(user: str, allowed: bool, action: str = "message") -> AuditRow:
    return AuditRow("telegram", user, "100", action, allowed, action)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_one_refusal_row_per_person_per_minute_and_every_allowed_row(
    database: Database,
) -> None:
    clock = Clock()
    trail = AuditTrail(database, clock=clock)
    for _ in range(5):
        trail.note(row("666", False))
        trail.note(row("1", True))
    trail.note(row("777", False))
    clock.now = 61
    trail.note(row("666", False, "/help"))
    assert await trail.flush()
    entries = list(reversed(await database.audit.recent(50)))
    refused = [(e.user_id, e.action, e.detail) for e in entries if not e.allowed]
    assert refused == [
        ("666", "message", "message"),
        ("777", "message", "message"),
        ("666", "/help", "/help (+4 earlier refusals not recorded)"),
    ]
    assert sum(e.allowed for e in entries) == 5
    await trail.aclose()


async def test_a_locked_database_delays_the_row_not_the_caller(
    database: Database, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "data" / "baton.sqlite3", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    trail = AuditTrail(database)
    started = time.monotonic()
    trail.note(row("1", True))
    assert time.monotonic() - started < 0.05, "note never waits for the database"
    assert not await trail.flush(timeout_s=0.5), "still locked"
    other.execute("COMMIT")
    other.close()
    assert await trail.flush(timeout_s=15)
    assert [e.user_id for e in await database.audit.recent()] == ["1"]
    await trail.aclose()


async def test_retention_prunes_at_start(database: Database) -> None:
    await database.connection.execute(
        "INSERT INTO audit_log (at, app, user_id, chat_id, action, detail, allowed) "
        "VALUES (0, 'telegram', '1', '', 'ancient', '', 0)"
    )
    trail = AuditTrail(database, retention_days=90)
    trail.start()
    for _ in range(100):
        if not await database.audit.count():
            break
        await asyncio.sleep(0.01)
    assert await database.audit.count() == 0
    await trail.aclose()
