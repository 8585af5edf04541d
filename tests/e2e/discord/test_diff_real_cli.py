"""A Write approval on Discord shows the proposed change, from the SDK's callback, through the
real Claude Code CLI (the seam); the /diff tests run on scripted turns in ``test_diff.py``."""

from __future__ import annotations

from tests.e2e.discord.conftest import WAIT_S, Baton, choose, final
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord

SECRET = "sk-ant-api03-abcdefghijklmnopqrstu"


async def test_write_approval_shows_the_change(
    dc: FakeDiscord, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    target = cli_env.project / "notes.md"
    fake_api.script(
        Reply.tool_use("Write", {"file_path": str(target), "content": "first line\nsecond\n"}),
        Reply(text="written"),
    )
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> write notes")
    asked = await dc.wait_for_message(
        channel, "Allow Write?", predicate=lambda m: bool(m.components), timeout=WAIT_S
    )
    assert "```diff" in asked.content and "+first line" in asked.content
    await choose(dc, asked, "Allow once")
    await dc.wait_for_message(channel, predicate=final("written"), timeout=WAIT_S)
    assert target.read_text() == "first line\nsecond\n"
