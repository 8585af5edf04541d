"""Pending choices: short keys, one winner per button, expiry, and surviving a restart."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import pytest

from storage import Database, PendingChoice

from .conftest import FakeClock

TTL = timedelta(minutes=10)


async def test_a_key_fits_telegram_callback_data(db: Database, clock: FakeClock) -> None:
    payload = {"session_id": "0f8b1c2e-aaaa-bbbb-cccc-123456789abc", "page": 2}
    key = await db.pending.put(
        app="telegram", chat_id=-100, kind="resume", payload=payload, ttl=TTL
    )
    assert re.fullmatch(r"[A-Za-z0-9_-]{12}", key)
    assert len(f"choice:{key}".encode()) <= 64
    assert await db.pending.get(key) == PendingChoice(
        key, "telegram", "-100", "resume", payload, clock.now, clock.now + TTL
    )


async def test_keys_do_not_repeat(db: Database) -> None:
    keys = {
        await db.pending.put(app="discord", chat_id=1, kind="k", payload=n, ttl=TTL)
        for n in range(200)
    }
    assert len(keys) == 200


async def test_two_presses_of_one_button_one_winner(db: Database) -> None:
    key = await db.pending.put(app="telegram", chat_id=1, kind="approve", payload=[1], ttl=TTL)
    async with asyncio.timeout(10):
        results = await asyncio.gather(*(db.pending.pop(key) for _ in range(10)))
    assert [r.payload for r in results if r is not None] == [[1]]
    assert await db.pending.get(key) is None


async def test_expired_choices_are_gone_and_purged(db: Database, clock: FakeClock) -> None:
    old = await db.pending.put(app="telegram", chat_id=1, kind="k", payload=None, ttl=TTL)
    fresh = await db.pending.put(app="telegram", chat_id=1, kind="k", payload=None, ttl=TTL * 3)
    clock.advance(minutes=10)
    assert await db.pending.get(old) is None
    assert (await db.pending.get(fresh)) is not None
    assert await db.pending.purge_expired() == 1
    assert await db.pending.purge_expired() == 0
    clock.advance(minutes=30)
    assert await db.pending.pop(fresh) is None
    assert await db.pending.purge_expired() == 0  # the pop removed it


async def test_another_chat_cannot_use_or_spend_a_key(db: Database) -> None:
    key = await db.pending.put(app="telegram", chat_id=1, kind="k", payload="x", ttl=TTL)
    assert await db.pending.get(key, app="discord") is None
    assert await db.pending.pop(key, app="telegram", chat_id=2) is None
    choice = await db.pending.pop(key, app="telegram", chat_id=1)
    assert choice is not None and choice.payload == "x"


async def test_buttons_survive_a_restart(db_path: Path, clock: FakeClock) -> None:
    async with Database.open(db_path, clock=clock) as db:
        key = await db.pending.put(
            app="telegram", chat_id=1, kind="resume", payload={"id": "s"}, ttl=TTL
        )
    async with Database.open(db_path, clock=clock) as db:
        choice = await db.pending.pop(key)
    assert choice is not None and choice.payload == {"id": "s"}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"payload": {1, 2}}, "payload of a 'k' choice is not JSON"),
        ({"payload": float("nan")}, "is not JSON"),
        ({"ttl": timedelta(0)}, "ttl must be positive"),
        ({"kind": ""}, "needs an app and a kind"),
    ],
)
async def test_bad_choices_are_refused(db: Database, bad: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"app": "telegram", "chat_id": 1, "kind": "k", "payload": 1}
    with pytest.raises(ValueError, match=message):
        await db.pending.put(**{"ttl": TTL, **fields, **bad})  # type: ignore[arg-type]
    assert await db.pending.purge_expired() == 0
