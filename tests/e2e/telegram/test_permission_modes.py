"""Issue 9, finding 2, through the whole bot: a chat chooses bypass while the operator
allows it (its tool call runs unasked), the operator restarts without
``BATON_ALLOW_BYPASS``, and the chat's next tool call is asked, with one notice. The flow
plays scripted turns (what the chat asks of Claude Code is the mode each turn is given);
one short test keeps the real CLI for the seam: in bypass, Claude Code runs the tool
unasked."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from session_core.events import TextDelta
from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, bot_settings, bot_texts, say
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.scripted_runner import Ask, ScriptedRunner, ScriptedTurn
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.usefixtures("unpaced")
"""Unpaced: these tests are about what the chat shows, not about pacing."""


def touch(name: str, then: str) -> ScriptedTurn:
    ask = Ask("Bash", {"command": f"touch {name}", "description": "make a file"})
    return ScriptedTurn((ask, TextDelta(then)))


async def test_bypass_ends_when_the_operator_switches_it_off(
    tg: FakeTelegram, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    bypassing = bot_settings(tg, claude_env, data, BATON_ALLOW_BYPASS="true")
    async with Baton(bypassing, tg, turns=scripted_runner):
        sent = say(tg, "/mode bypass")
        await answer(tg, "Mode: bypassPermissions", after=sent)
        scripted_runner.script(ScriptedTurn((TextDelta("ran in bypass"),)))
        sent = say(tg, "make a file")
        await answer(tg, "ran in bypass", after=sent)
        assert scripted_runner.calls[-1].permission_mode == "bypassPermissions"
        assert not any("Allow Bash?" in text for text in bot_texts(tg)), "bypass asked nothing"

    async with Baton(bot_settings(tg, claude_env, data), tg, turns=scripted_runner):
        scripted_runner.script(touch("after-restart.txt", "asked this time"))
        sent = say(tg, "make another")
        asked = await tg.wait_for_message(
            USER,
            after=sent.message_id,
            match=lambda m: "Allow Bash?" in m.body and bool(m.buttons),
            timeout=WAIT_S,
        )
        press = tg.press_button(asked, label="Deny", user_id=USER)
        await tg.wait_for_callback_answer(press, timeout=WAIT_S)
        await answer(tg, "asked this time", after=sent)
        assert scripted_runner.calls[-1].permission_mode != "bypassPermissions"
        assert [d.allow for d in scripted_runner.decisions] == [False]

        scripted_runner.script(ScriptedTurn((TextDelta("still default"),)))
        sent = say(tg, "and now?")
        await answer(tg, "still default", after=sent)
        notices = [t for t in bot_texts(tg) if "BATON_ALLOW_BYPASS is off" in t]
        assert len(notices) == 1, notices
        assert scripted_runner.calls[-1].permission_mode != "bypassPermissions"


async def test_bypass_runs_a_tool_call_unasked_in_claude_code(
    tg: FakeTelegram, cli_env: ClaudeEnv, fake_api: FakeAnthropic, tmp_path: Path
) -> None:
    """The seam, on the real CLI: the mode the chat chose is the one Claude Code runs in
    (its tool call runs, the approval callback is never asked)."""
    settings = bot_settings(tg, cli_env, tmp_path / "data", BATON_ALLOW_BYPASS="true")
    async with Baton(settings, tg):
        sent = say(tg, "/mode bypass")
        await answer(tg, "Mode: bypassPermissions", after=sent)
        fake_api.script(
            Reply.tool_use("Bash", {"command": "touch made.txt", "description": "make a file"}),
            Reply(text="ran in bypass"),
        )
        sent = say(tg, "make a file")
        await answer(tg, "ran in bypass", after=sent)
    assert await asyncio.to_thread((cli_env.project / "made.txt").exists)
    assert not any("Allow Bash?" in text for text in bot_texts(tg)), "bypass asked nothing"
