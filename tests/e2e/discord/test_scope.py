"""What becomes a prompt on Discord: a session's thread, a mention of the bot, /ask.
Other channel messages are people talking: no reply, no audit row. And a locked
database never turns an allowed person away. Scripted turns."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from storage import Database
from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, bot_settings, final
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.scripted_runner import ScriptedRunner


async def test_only_threads_mentions_and_ask_become_prompts(
    dc: FakeDiscord, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    baton = scripted_baton
    alice, bob, channel = dc.user_id("alice"), dc.user_id("bob"), dc.channel_id()
    await dc.send_user_message(channel, alice, "lunch at noon?")
    await dc.send_user_message(channel, bob, "sure, and you?")
    await dc.send_user_message(channel, bob, "anyone?")
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> start the work")
    await dc.wait_for_message(channel, predicate=final("to: start the work"), timeout=WAIT_S)

    new = await dc.dispatch_slash_command("new", user_id=alice, channel_id=channel)
    await answer_of(dc, new)
    thread = await dc.wait_for_thread(channel, name_contains="New session", timeout=WAIT_S)
    await dc.send_user_message(thread.id, alice, "in the session thread")
    await dc.wait_for_message(
        thread.id, predicate=final("to: in the session thread"), timeout=WAIT_S
    )

    for _ in range(3):  # a stranger addressing the bot: one refusal, one row
        await dc.send_user_message(channel, bob, f"<@{dc.bot_user_id}> let me in")
    await dc.wait_for_message(channel, "not allowed", timeout=WAIT_S)
    await asyncio.sleep(0.5)
    await baton.stop()

    assert [c.prompt for c in scripted_runner.calls] == ["start the work", "in the session thread"]
    said = [m.content for m in dc.messages(channel) if m.author_id == dc.bot_user_id]
    assert sum("not allowed" in text for text in said) == 1
    assert not any("lunch" in text or "anyone" in text for text in said)
    async with Database.open(baton.settings.data_dir / "baton.sqlite3") as db:
        entries = await db.audit.recent(50)
    refused = [e for e in entries if not e.allowed]
    assert [(e.user_id, e.action) for e in refused] == [(str(bob), "message")]
    assert sum(e.action == "message" for e in entries) == 3, "two allowed prompts, one refusal"


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot's database gives up on a lock after 0.2 s instead of 5 s: the same
    "database is locked" path, without waiting 5 s at each statement."""
    opening = Database.open

    def open_quickly(path: str | os.PathLike[str], **options: Any) -> Any:
        return opening(path, **({"busy_timeout_ms": 200} | options))

    monkeypatch.setattr(Database, "open", staticmethod(open_quickly))


async def test_a_locked_database_never_refuses_an_allowed_member(
    dc: FakeDiscord,
    claude_env: ClaudeEnv,
    tmp_path: Path,
    discord_errors: object,
    scripted_runner: ScriptedRunner,
    short_busy_timeout: None,
) -> None:
    baton = Baton(bot_settings(dc, claude_env, tmp_path / "data"), dc, turns=scripted_runner)
    await baton.start()
    alice, channel = dc.user_id("alice"), dc.channel_id()
    lock = sqlite3.connect(baton.settings.data_dir / "baton.sqlite3", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        asked = await dc.dispatch_slash_command("ask", {"prompt": "while locked"}, alice, channel)
        await answer_of(dc, asked)
        await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> mention while locked")
        for text in ("to: while locked", "to: mention while locked"):
            await dc.wait_for_message(channel, predicate=final(text), timeout=30)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
        await baton.stop()
    said = [m.content for m in dc.messages(channel) if m.author_id == dc.bot_user_id]
    assert not any("not allowed" in text for text in said)
    assert dc.violations == []
