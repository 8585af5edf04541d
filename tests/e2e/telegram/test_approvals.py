"""Tool approvals and questions as Telegram buttons (issue 6, the chat side): a
mutating command runs only when allowed from the chat, no answer in time denies, and
an AskUserQuestion answer typed into the chat reaches the model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, bot_settings, say
from tests.fakes.anthropic import FakeAnthropic, Reply, tool_results
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.telegram_api import ChatMessage, FakeTelegram


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
    tg: FakeTelegram, cli_env: ClaudeEnv, fake_api: FakeAnthropic, tmp_path: Path
) -> None:
    baton = Baton(bot_settings(tg, cli_env, tmp_path / "data", BATON_APPROVAL_TIMEOUT_S=1), tg)
    await baton.start()
    try:
        fake_api.script(bash("touch late.txt"), Reply(text="gave up"))
        sent = say(tg, "make a file, slowly")
        asked = await approval(tg, sent)
        await answer(tg, "gave up", after=sent)
        shown = tg.message(USER, asked.message_id)
        assert shown.buttons == () and "No answer in time: Deny" in shown.body
        assert not await asyncio.to_thread((cli_env.project / "late.txt").exists)
    finally:
        await baton.stop()


async def test_a_question_answered_by_typing_reaches_the_model(
    tg: FakeTelegram, baton: Baton, fake_api: FakeAnthropic
) -> None:
    fake_api.script(
        Reply.ask_user_question("Which color?", "Color", ["Red", "Blue"]), Reply(text="teal it is")
    )
    sent = say(tg, "pick a color")
    asked = await tg.wait_for_message(
        USER, after=sent.message_id, match=lambda m: "Color" in m.body and bool(m.buttons)
    )
    assert [b.text for row in asked.buttons for b in row] == ["Red", "Blue", "Skip"]
    assert "type an answer" in asked.body
    typed = say(tg, "teal, actually")
    await answer(tg, "teal it is", after=typed)
    result = json.dumps(tool_results(fake_api.messages_requests()[-1]))
    assert "teal, actually" in result
    assert "teal, actually" not in fake_api.prompts(), "the typed answer was not a new prompt"
    assert tg.message(USER, asked.message_id).body.endswith("→ teal, actually")
