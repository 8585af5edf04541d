"""Inbound prompts: recorded once per app message id, open until their turn ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import ChatKey, Database

CHAT = ChatKey.of("telegram", 7)
THREAD = ChatKey.of("discord", 5, 9)


async def test_a_redelivered_message_id_is_recorded_once(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "db.sqlite3") as db:
        assert await db.inbound.add(CHAT, "101", user_id="1", text="first")
        assert not await db.inbound.add(CHAT, "101", user_id="1", text="first")
        # The same id in another chat, thread or app is another message.
        assert await db.inbound.add(ChatKey.of("telegram", 8), "101", user_id="1", text="x")
        assert await db.inbound.add(ChatKey.of("discord", 7), "101", user_id="1", text="x")
        open_ = await db.inbound.unfinished("telegram")
        assert [(p.chat, p.message_id, p.text) for p in open_] == [
            (CHAT, "101", "first"),
            (ChatKey.of("telegram", 8), "101", "x"),
        ]


async def test_open_until_finished_and_kept_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with Database.open(path) as db:
        await db.inbound.add(THREAD, "m1", user_id="2", text="one", mention="<@2>", attachments=1)
        await db.inbound.add(THREAD, "m2", user_id="2", text="two")
        await db.inbound.started(THREAD, "m1", "sess-1")
        await db.inbound.finish(THREAD, "m2")
    async with Database.open(path) as db:  # a restart
        (left,) = await db.inbound.unfinished("discord")
        assert (left.message_id, left.session_id, left.mention, left.attachments) == (
            "m1",
            "sess-1",
            "<@2>",
            1,
        )
        assert left.chat == THREAD
        await db.inbound.finish(THREAD, "m1")
        assert await db.inbound.unfinished("discord") == []
        assert not await db.inbound.add(THREAD, "m1", user_id="2", text="one")  # still known


async def test_finished_rows_are_purged_after_two_days(tmp_path: Path) -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    async with Database.open(tmp_path / "db.sqlite3", clock=lambda: now[0]) as db:
        await db.inbound.add(CHAT, "1", user_id="1", text="done")
        await db.inbound.add(CHAT, "2", user_id="1", text="still open")
        await db.inbound.finish(CHAT, "1")
        now[0] += timedelta(days=3)
        assert await db.inbound.purge() == 1
        assert [p.message_id for p in await db.inbound.unfinished("telegram")] == ["2"]
        assert await db.inbound.add(CHAT, "1", user_id="1", text="done")
