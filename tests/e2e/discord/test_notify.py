"""A push when it is done or waiting, on Discord: a long turn's answer is a new message
that pings the asker (an edit never notifies), a short one stays a quiet edit, and an
approval pings only the asker. Real discord.py, the fake Discord, scripted turns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from session_core.events import TextDelta
from session_core.turn_source import TurnSource
from tests.e2e.discord.conftest import WAIT_S, Baton, bot_settings, final, ticking
from tests.e2e.discord.harness import ErrorLog
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.scripted_runner import Ask, ScriptedRunner, ScriptedTurn


async def long_pings_short_does_not(
    dc: FakeDiscord,
    env: ClaudeEnv,
    tmp_path: Path,
    script: Callable[[str], None],
    notify_after_s: float,
    turns: TurnSource | None = None,
) -> None:
    """A turn longer than ``notify_after_s`` ends with a new message that pings the
    asker; under the default threshold it does not. ``script(word)`` makes the next
    answer eight slow repeats of ``word``."""
    alice, channel = dc.user_id("alice"), dc.channel_id()
    settings = bot_settings(dc, env, tmp_path / "long", BATON_NOTIFY_AFTER_S=notify_after_s)
    async with Baton(settings, dc, turns=turns):
        script("step ")
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

    settings = bot_settings(dc, env, tmp_path / "short", BATON_NOTIFY_AFTER_S=600)
    async with Baton(settings, dc, turns=turns):
        script("pace ")
        await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> a short one")
        done = await dc.wait_for_message(channel, predicate=final("pace pace"), timeout=WAIT_S)
        assert f"<@{alice}>" not in done.content and done.pinged == ()


async def test_a_long_turn_pings_the_asker_and_a_short_one_does_not(
    dc: FakeDiscord,
    claude_env: ClaudeEnv,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
    discord_errors: ErrorLog,
) -> None:
    def script(word: str) -> None:
        scripted_runner.script(ticking(8, delay_s=0.08, word=word))

    await long_pings_short_does_not(dc, claude_env, tmp_path, script, 0.3, scripted_runner)


async def test_an_approval_pings_only_the_asker(
    dc: FakeDiscord, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    bash = Ask("Bash", {"command": "touch y.txt", "description": "y"})
    scripted_runner.script(ScriptedTurn((TextDelta("looking"), bash, TextDelta("never"))))
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> make y")
    asked = await dc.wait_for_message(
        channel, "Allow Bash?", predicate=lambda m: bool(m.components), timeout=WAIT_S
    )
    assert asked.pinged == (alice,) and asked.edit_times == ()


async def test_a_long_slash_command_turn_pings_the_asker_too(
    dc: FakeDiscord,
    claude_env: ClaudeEnv,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
    discord_errors: ErrorLog,
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    settings = bot_settings(dc, claude_env, tmp_path / "data", BATON_NOTIFY_AFTER_S=0.3)
    async with Baton(settings, dc, turns=scripted_runner):
        scripted_runner.script(ticking(8, delay_s=0.08, word="slash "))
        await dc.dispatch_slash_command("ask", {"prompt": "long via slash"}, user_id=alice)
        done = await dc.wait_for_message(channel, predicate=final("slash slash"), timeout=WAIT_S)
        assert done.pinged == (alice,) and done.edit_times == ()


async def test_a_long_turn_pings_the_asker_and_a_short_one_does_not_through_the_real_cli(
    dc: FakeDiscord,
    cli_env: ClaudeEnv,
    fake_api: FakeAnthropic,
    tmp_path: Path,
    discord_errors: ErrorLog,
) -> None:
    def script(word: str) -> None:
        fake_api.script(Reply.slow(8, delay_s=0.2, word=word))

    await long_pings_short_does_not(dc, cli_env, tmp_path, script, 0.5)
