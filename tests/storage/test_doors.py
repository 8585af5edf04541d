"""Doors per session: newest first, never moved back in time, batched lookups."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import Database, DoorUse

from .conftest import FakeClock


async def test_doors_are_listed_newest_first(db: Database, clock: FakeClock) -> None:
    start = clock.now
    await db.doors.touch("sess-a", "telegram")
    clock.advance(minutes=5)
    await db.doors.touch("sess-a", "discord")
    clock.advance(minutes=5)
    await db.doors.touch("sess-a", "telegram")
    assert await db.doors.doors("sess-a") == [
        DoorUse("telegram", start + timedelta(minutes=10)),
        DoorUse("discord", start + timedelta(minutes=5)),
    ]
    assert await db.doors.doors("sess-unknown") == []


async def test_an_older_time_never_moves_a_door_back(db: Database, clock: FakeClock) -> None:
    await db.doors.touch("sess-a", "terminal")
    await db.doors.touch("sess-a", "terminal", at=clock.now - timedelta(days=1))
    assert await db.doors.doors("sess-a") == [DoorUse("terminal", clock.now)]
    later = clock.now + timedelta(hours=1)
    await db.doors.touch("sess-a", "terminal", at=later)
    assert await db.doors.doors("sess-a") == [DoorUse("terminal", later)]


async def test_unknown_doors_and_empty_ids_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="door must be one of terminal, telegram"):
        await db.doors.touch("sess-a", "fax")
    with pytest.raises(ValueError, match="session_id must not be empty"):
        await db.doors.touch("", "cli")
    assert await db.doors.doors_for(["sess-a", ""]) == {}


async def test_doors_for_many_sessions_in_batches(db: Database, clock: FakeClock) -> None:
    # More ids than a stock SQLite binds in one statement (32766), as a big catalog might.
    ids = [f"sess-{n:05d}" for n in range(40_000)]
    used = [*ids[::10_000], ids[-1]]
    for n, session_id in enumerate(used):
        await db.doors.touch(session_id, "cli", at=clock.now + timedelta(seconds=n))
    await db.doors.touch(ids[-1], "discord", at=clock.now + timedelta(days=1))
    found = await db.doors.doors_for([*ids, *ids[:10]])  # duplicates are harmless
    assert sorted(found) == sorted(used)
    assert [d.door for d in found[ids[-1]]] == ["discord", "cli"]
    assert found[ids[10_000]] == [DoorUse("cli", clock.now + timedelta(seconds=1))]
