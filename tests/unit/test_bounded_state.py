"""Bounded state (issue 10, finding 6): what the bot keeps per button, per person and
per chat stays bounded however long it runs."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

from telegram import Bot

from chat_adapters.background import BackgroundTasks
from chat_adapters.housekeeping import tidy_once
from chat_adapters.inbox import Inbox
from chat_adapters.interactions import Interactions
from chat_adapters.recent_keys import RecentKeys
from chat_adapters.telegram.chat_objects import ChatObjects
from storage import Database


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_recent_keys_forget_the_oldest() -> None:
    keys = RecentKeys(3)
    for key in "abcd":
        keys.add(key)
    assert len(keys) == 3 and "a" not in keys and "d" in keys
    keys.add("b")  # used again: now the newest
    keys.add("e")
    assert "b" in keys and "c" not in keys


async def test_idle_chats_are_dropped_and_busy_ones_kept() -> None:
    clock = Clock()
    busy = {(2, None)}
    chats = ChatObjects(
        Bot("1:fake"),
        Interactions("telegram"),
        BackgroundTasks(),
        in_use=lambda key: key in busy,
        idle_s=600,
        sweep_every_s=60,
        clock=clock,
    )
    first = chats.surface(1)
    chats.surface(2)
    chats.surface(3, 7)
    assert len(chats) == 3 and chats.outboxes == 3
    clock.now += 300
    assert chats.sweep() == 0, "not idle for long enough"
    assert chats.surface(1) is first
    clock.now += 601
    chats.surface(4)  # a new chat sweeps
    assert len(chats) == 2 and chats.outboxes == 2, "chats 1 and 3 dropped, 2 is busy"
    assert chats.surface(1) is not first, "made again when it writes again"
    await chats.aclose(1.0)


async def test_housekeeping_purges_expired_choices_and_old_inbox_files(
    database: Database, tmp_path: Path
) -> None:
    inbox = Inbox(tmp_path / "inbox", keep_days=7)
    old = inbox.spool("document", "old.txt", b"x", "text/plain")
    long_ago = old.path.stat().st_mtime - 8 * 86400
    os.utime(old.path, (long_ago, long_ago))
    await database.pending.put(
        app="telegram", chat_id=1, kind="x", payload=None, ttl=timedelta(milliseconds=1)
    )
    kept = await database.pending.put(
        app="telegram", chat_id=1, kind="x", payload=None, ttl=timedelta(hours=1)
    )
    await asyncio.sleep(0.01)
    await tidy_once(inbox, database.pending)
    assert not old.path.exists()
    assert await database.pending.purge_expired() == 0, "already purged"
    assert await database.pending.get(kept) is not None
