"""Discord's ``/new`` opens a thread and hints the runner to start that thread's first
session ahead of its first prompt, with what that prompt's turn asks for."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, bot_settings, final
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.scripted_runner import ScriptedRunner, WarmCall


async def test_new_in_a_channel_warms_what_the_threads_first_turn_asks_for(
    dc: FakeDiscord, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner, tmp_path: Path
) -> None:
    settings = bot_settings(dc, claude_env, tmp_path / "data", BATON_WARM_NEW_SESSIONS=True)
    alice, channel = dc.user_id("alice"), dc.channel_id("general")
    async with Baton(settings, dc, turns=scripted_runner):
        await answer_of(
            dc, await dc.dispatch_slash_command("new", user_id=alice, channel_id=channel)
        )
        thread = await dc.wait_for_thread(channel, name_contains="New session")
        await dc.wait_for_message(thread.id, "next message starts", timeout=WAIT_S)
        await dc.send_user_message(thread.id, alice, "first in the thread")
        await dc.wait_for_message(
            thread.id, predicate=final("to: first in the thread"), timeout=WAIT_S
        )
    (warm,) = scripted_runner.warmed
    (call,) = scripted_runner.calls
    assert call.force_new
    assert warm == WarmCall.of(call)
