"""Usage per turn: sums per session, since a moment, today in the person's timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from storage import Database, UsageTotals

from .conftest import FakeClock


async def test_record_and_totals(db: Database, clock: FakeClock) -> None:
    record = await db.usage.record(
        app="telegram",
        chat_id=-100,
        user_id=42,
        session_id="sess-a",
        outcome="success",
        cost_usd=0.25,
        input_tokens=10,
        output_tokens=20,
        cache_read_tokens=30,
        cache_creation_tokens=40,
        duration_ms=1500,
    )
    assert (record.id, record.at, record.chat_id, record.user_id) == (1, clock.now, "-100", "42")
    await db.usage.record(app="discord", session_id="sess-b", outcome="interrupted", cost_usd=1)
    assert await db.usage.totals() == UsageTotals(2, 1.25, 10, 20, 30, 40, 1500)
    assert await db.usage.totals(session_id="sess-b") == UsageTotals(turns=1, cost_usd=1.0)
    assert await db.usage.session_cost("sess-a") == 0.25
    assert await db.usage.session_cost("nobody") == 0.0
    assert [r.session_id for r in await db.usage.recent()] == ["sess-b", "sess-a"]
    assert [r.id for r in await db.usage.recent(session_id="sess-a")] == [1]


async def test_an_empty_log_sums_to_zero(db: Database) -> None:
    assert await db.usage.totals() == UsageTotals()
    assert await db.usage.cost_today() == 0.0


async def test_cost_since_and_today_follow_the_timezone(db: Database, clock: FakeClock) -> None:
    clock.now = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)  # 18:30 on the 9th in UTC-5
    await db.usage.record(app="telegram", session_id="s", outcome="success", cost_usd=2.0)
    clock.now = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 20:00 on the 9th in UTC-5
    await db.usage.record(app="telegram", session_id="s", outcome="success", cost_usd=0.5)
    assert await db.usage.cost_today() == 0.5
    assert await db.usage.cost_today(timezone(timedelta(hours=-5))) == 2.5
    assert await db.usage.cost_since(clock.now - timedelta(minutes=90)) == 2.5
    assert await db.usage.cost_since(clock.now - timedelta(minutes=89)) == 0.5
    with pytest.raises(ValueError, match="naive datetime"):
        await db.usage.cost_since(datetime(2026, 3, 10))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"input_tokens": -1}, "input_tokens must be a non-negative int"),
        ({"duration_ms": 1.5}, "duration_ms must be a non-negative int"),
        ({"output_tokens": True}, "output_tokens must be"),
        ({"cost_usd": -0.01}, "cost_usd must be a non-negative number"),
        ({"cost_usd": float("nan")}, "cost_usd must be"),
        ({"session_id": ""}, "needs an app, a session id and an outcome"),
    ],
)
async def test_bad_records_are_refused(db: Database, bad: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"app": "telegram", "session_id": "s", "outcome": "success"}
    with pytest.raises(ValueError, match=message):
        await db.usage.record(**{**fields, **bad})  # type: ignore[arg-type]
    assert await db.usage.totals() == UsageTotals()
