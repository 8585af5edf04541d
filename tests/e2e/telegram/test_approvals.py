"""Tool approvals and questions as Telegram buttons (issue 6, the chat side): a
mutating command runs only when allowed from the chat, no answer in time denies, and
an AskUserQuestion answer typed into the chat reaches the model. The first test keeps
the real CLI (the SDK's approval callback decides whether the command runs); the
others are about the chat and play scripted turns."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from session_core.events import TextDelta
from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, bot_settings, prompts, say
from tests.fakes.anthropic import FakeAnthropic, Reply, tool_results
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.scripted_runner import Ask, ScriptedRunner, ScriptedTurn
from tests.fakes.telegram_api import ChatMessage, FakeTelegram

pytestmark = pytest.mark.usefixtures("unpaced")
"""Unpaced: these tests are about what the chat shows, not about pacing."""


def bash(command: str) -> Reply:
    return Reply.tool_use("Bash", {"command": command, "description": "make a file"})


async def approval(tg: FakeTelegram, after: ChatMessage) -> ChatMessage:
    return await tg.wait_for_message(
        USER,
        after=after.message_id,
        match=lambda m: "Allow Bash?" in m.body and bool(m.buttons),
        timeout=WAIT_S,
    )


async def test_a_mutating_command_runs_only_when_allowed_from_the_chat(
    tg: FakeTelegram, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    allowed, denied = cli_env.project / "allowed.txt", cli_env.project / "denied.txt"
    fake_api.script(bash("touch allowed.txt && echo made"), Reply(text="made it"))
    sent = say(tg, "make a file")
    asked = await approval(tg, sent)
    assert "Allow Bash?" in asked.entity_texts("bold")
    assert any("touch allowed.txt" in code for code in asked.entity_texts("pre"))
    assert [b.text for row in asked.buttons for b in row][-1] == "Deny"
    press = tg.press_button(asked, label="Allow once", user_id=USER)
    assert (await tg.wait_for_callback_answer(press, timeout=WAIT_S)).text == "→ Allow once"
    await answer(tg, "made it", after=sent)
    assert await asyncio.to_thread(allowed.exists)
    shown = tg.message(USER, asked.message_id)
    assert shown.buttons == () and shown.body.endswith("→ Allow once")

    fake_api.script(bash("touch denied.txt"), Reply(text="not made"))
    sent = say(tg, "make another")
    asked = await approval(tg, sent)
    press = tg.press_button(asked, label="Deny", user_id=USER)
    await tg.wait_for_callback_answer(press, timeout=WAIT_S)
    await answer(tg, "not made", after=sent)
    assert not await asyncio.to_thread(denied.exists)
    assert tool_results(fake_api.messages_requests()[-1])[-1].get("is_error") is True


async def test_no_answer_in_time_denies_and_says_so(
    tg: FakeTelegram, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner, tmp_path: Path
) -> None:
    settings = bot_settings(tg, claude_env, tmp_path / "data", BATON_APPROVAL_TIMEOUT_S=0.5)
    async with Baton(settings, tg, turns=scripted_runner):
        touch = Ask("Bash", {"command": "touch late.txt", "description": "make a file"})
        scripted_runner.script(ScriptedTurn((touch, TextDelta("gave up"))))
        sent = say(tg, "make a file, slowly")
        asked = await approval(tg, sent)
        await answer(tg, "gave up", after=sent)
        shown = tg.message(USER, asked.message_id)
        assert shown.buttons == () and "No answer in time: Deny" in shown.body
        [decision] = scripted_runner.decisions
        assert not decision.allow and "in time" in decision.message


async def test_a_question_answered_by_typing_is_the_answer(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    question = Reply.ask_user_question("Which color?", "Color", ["Red", "Blue"]).tool
    assert question is not None
    ask = Ask(question.name, question.input)
    scripted_runner.script(ScriptedTurn((ask, TextDelta("teal it is"))))
    sent = say(tg, "pick a color")
    asked = await tg.wait_for_message(
        USER, after=sent.message_id, match=lambda m: "Color" in m.body and bool(m.buttons)
    )
    assert [b.text for row in asked.buttons for b in row] == ["Red", "Blue", "Skip"]
    assert "type an answer" in asked.body
    typed = say(tg, "teal, actually")
    await answer(tg, "teal it is", after=typed)
    [decision] = scripted_runner.decisions
    assert decision.allow and decision.updated_input is not None
    assert decision.updated_input["answers"] == {"Which color?": "teal, actually"}
    assert "teal, actually" not in prompts(scripted_runner), "not a new prompt"
    assert tg.message(USER, asked.message_id).body.endswith("→ teal, actually")
