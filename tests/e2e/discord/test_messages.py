"""Plain messages: files reach the turn, and a bot without the message-content intent
(not enabled in the Developer Portal) still connects, answers /ask and mentions.
Scripted turns: what the turn receives is the ScriptedRunner's recorded call."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, bot_settings, final
from tests.e2e.discord.harness import keep_endpoints
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.scripted_runner import ScriptedRunner

MESSAGE_CONTENT = 1 << 15


async def test_an_attached_file_reaches_the_model(
    dc: FakeDiscord, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    channel = dc.channel_id()
    await dc.send_user_message(
        channel,
        dc.user_id("alice"),
        f"<@{dc.bot_user_id}> what is in it?",
        attachments={"notes.txt": b"42 apples"},
    )
    await dc.wait_for_message(channel, predicate=final("to: what is in it?"), timeout=WAIT_S)
    prompt = scripted_runner.calls[-1].prompt
    saved = re.search(r"saved at (\S+) \(", prompt)
    assert saved is not None, prompt
    path = Path(saved.group(1))
    assert path.name.endswith("notes.txt") and path.read_bytes() == b"42 apples"


async def test_without_the_message_content_intent_commands_and_mentions_work(
    claude_env: ClaudeEnv,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    discord_errors: object,
    scripted_runner: ScriptedRunner,
) -> None:
    keep_endpoints(monkeypatch)
    async with FakeDiscord(privileged_intents=0) as dc:
        settings = bot_settings(dc, claude_env, tmp_path / "data")
        baton = Baton(settings, dc, turns=scripted_runner)
        await baton.start()
        try:
            assert dc.identify_count == 2, "refused with the intent, then connected without"
            assert [i & MESSAGE_CONTENT for i in dc.session_intents] == [0]
            alice, channel = dc.user_id("alice"), dc.channel_id()
            asked = await dc.dispatch_slash_command("ask", {"prompt": "via slash"}, user_id=alice)
            await answer_of(dc, asked)
            await dc.wait_for_message(channel, predicate=final("to: via slash"), timeout=WAIT_S)

            await dc.send_user_message(channel, alice, "unseen text")
            await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> seen text")
            await dc.wait_for_message(channel, predicate=final("to: seen text"), timeout=WAIT_S)
            assert not any(
                "unseen" in m.content for m in dc.messages(channel) if m.author_id == dc.bot_user_id
            )
        finally:
            await baton.stop()
        assert dc.violations == []


async def test_a_sticker_only_message_is_answered_with_what_the_bot_takes(
    dc: FakeDiscord, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    """Issue 10, finding 7: silence would look like a lost message. (Addressed to the
    bot: plain channel talk is not the bot's, issue 9 finding 6.)"""
    channel = dc.channel_id()
    await dc.send_user_message(channel, dc.user_id("alice"), f"<@{dc.bot_user_id}>", stickers=[777])
    said = await dc.wait_for_message(
        channel,
        predicate=lambda m: m.author_id == dc.bot_user_id and "Stickers" in m.content,
        timeout=WAIT_S,
    )
    assert "nothing was sent to Claude" in said.content
    assert "text, photos, files" in said.content
    assert scripted_runner.calls == []
