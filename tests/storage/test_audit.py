"""The audit log: entries in order, refusals countable, detail capped."""

from __future__ import annotations

import pytest

from storage import AuditEntry, Database
from storage.audit import DETAIL_LIMIT

from .conftest import FakeClock


async def test_record_returns_what_was_stored(db: Database, clock: FakeClock) -> None:
    entry = await db.audit.record(
        app="telegram", user_id=42, chat_id=-100, action="command", detail="/cd x", allowed=True
    )
    assert entry == AuditEntry(1, clock.now, "telegram", "42", "-100", "command", "/cd x", True)
    assert await db.audit.recent() == [entry]


async def test_recent_is_newest_first_and_limited(db: Database, clock: FakeClock) -> None:
    for n in range(5):
        await db.audit.record(app="discord", user_id=n, action=f"a{n}", allowed=True)
        clock.advance(seconds=1)
    assert [e.action for e in await db.audit.recent(3)] == ["a4", "a3", "a2"]
    with pytest.raises(ValueError, match="limit must be at least 1"):
        await db.audit.recent(0)


async def test_refusals_are_counted_on_their_own(db: Database) -> None:
    await db.audit.record(app="telegram", user_id=1, action="message", allowed=True)
    for _ in range(3):
        await db.audit.record(app="telegram", user_id=666, action="message", allowed=False)
    assert await db.audit.count() == 4
    assert await db.audit.count(allowed=False) == 3
    assert await db.audit.count(allowed=True) == 1


async def test_long_detail_is_capped_not_refused(db: Database) -> None:
    entry = await db.audit.record(
        app="telegram", user_id=1, action="message", detail="x" * 5000, allowed=True
    )
    assert len(entry.detail) == DETAIL_LIMIT and entry.detail.endswith("…")
    assert (await db.audit.recent(1))[0].detail == entry.detail


async def test_an_entry_without_an_action_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="needs an app and an action"):
        await db.audit.record(app="telegram", user_id=1, action="", allowed=True)
    assert await db.audit.count() == 0


async def test_prune_deletes_only_entries_past_the_retention(
    db: Database, clock: FakeClock
) -> None:
    await db.audit.record(app="telegram", user_id=1, action="old", allowed=False)
    clock.advance(seconds=86_400 * 91)
    await db.audit.record(app="telegram", user_id=1, action="new", allowed=False)
    assert await db.audit.prune(older_than_days=90) == 1
    assert [e.action for e in await db.audit.recent()] == ["new"]
    with pytest.raises(ValueError, match="positive"):
        await db.audit.prune(older_than_days=0)


async def test_search_filters_by_time_app_and_user_oldest_first(
    db: Database, clock: FakeClock
) -> None:
    start = clock.now
    for n, (app, user) in enumerate([("telegram", 1), ("discord", 1), ("telegram", 2)] * 2):
        await db.audit.record(app=app, user_id=user, action=f"a{n}", allowed=True)
        clock.advance(seconds=10)
    assert [e.action for e in await db.audit.search()] == [f"a{n}" for n in range(6)]
    later = await db.audit.search(since=start + (clock.now - start) / 2)
    assert [e.action for e in later] == ["a3", "a4", "a5"]
    assert [e.action for e in await db.audit.search(app="telegram", user_id="1")] == ["a0", "a3"]
    assert [e.action for e in await db.audit.search(user_id="2", limit=1)] == ["a5"]
