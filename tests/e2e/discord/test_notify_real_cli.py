"""A long Discord turn pings the asker, through the real Claude Code CLI (the seam); the other
notify tests run on scripted turns in ``test_notify.py``."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.discord.conftest import WAIT_S, Baton, bot_settings, final
from tests.e2e.discord.harness import ErrorLog
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord


async def test_a_long_turn_pings_the_asker_and_a_short_one_does_not(
    dc: FakeDiscord,
    cli_env: ClaudeEnv,
    fake_api: FakeAnthropic,
    tmp_path: Path,
    discord_errors: ErrorLog,
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    settings = bot_settings(dc, cli_env, tmp_path / "long", BATON_NOTIFY_AFTER_S=0.5)
    async with Baton(settings, dc):
        fake_api.script(Reply.slow(8, delay_s=0.2, word="step "))
        await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> a long one")
        done = await dc.wait_for_message(channel, predicate=final("step step"), timeout=WAIT_S)
        assert done.content.startswith(f"<@{alice}> ") and done.pinged == (alice,)
        assert done.edit_times == (), "a new message, which notifies"
        await dc.wait_until(
            lambda: (
                [m.id for m in dc.messages(channel) if m.author_id == dc.bot_user_id] == [done.id]
            ),
            timeout=WAIT_S,
            what="the live message to make way",
        )

    settings = bot_settings(dc, cli_env, tmp_path / "short", BATON_NOTIFY_AFTER_S=600)
    async with Baton(settings, dc):
        fake_api.script(Reply.slow(8, delay_s=0.2, word="pace "))
        await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> a short one")
        done = await dc.wait_for_message(channel, predicate=final("pace pace"), timeout=WAIT_S)
        assert f"<@{alice}>" not in done.content and done.pinged == ()
