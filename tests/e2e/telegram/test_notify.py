"""A push when it is done or waiting: a long turn ends with a new message replying to
the prompt (an edit never notifies), a short one keeps the quiet edit, and an approval
always arrives as a new message. Real PTB, the fake Bot API, scripted turns."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_core.events import TextDelta
from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, bot_settings, say, ticks
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.scripted_runner import Ask, ScriptedRunner, ScriptedTurn
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.usefixtures("unpaced")
"""Unpaced: these tests are about what the chat shows, not about pacing."""

GROUP = -100991


async def test_a_long_group_turn_ends_with_a_reply_to_the_prompt(
    tg: FakeTelegram, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner, tmp_path: Path
) -> None:
    bot = f"@{tg.bot_username}"
    settings = bot_settings(tg, claude_env, tmp_path / "data", BATON_NOTIFY_AFTER_S=0.3)
    async with Baton(settings, tg, turns=scripted_runner):
        scripted_runner.script(ticks(6, delay_s=0.1, word="step "))
        asked = tg.send_user_message(GROUP, USER, f"{bot} a long one", chat_type="supergroup")
        done = await answer(tg, "step step", chat=GROUP, after=asked)
        assert done.reply_to == asked.message_id, "a new message replying to the prompt"
        assert done.edits == 0

        def shown() -> list[int]:
            return [m.message_id for m in tg.sent_messages(GROUP) if not m.deleted]

        await tg.wait_for(
            lambda: shown() == [done.message_id], timeout=WAIT_S, what="the live message to go"
        )


async def test_a_short_turn_keeps_the_quiet_edit(
    tg: FakeTelegram, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner, tmp_path: Path
) -> None:
    bot = f"@{tg.bot_username}"
    settings = bot_settings(tg, claude_env, tmp_path / "data", BATON_NOTIFY_AFTER_S=600)
    async with Baton(settings, tg, turns=scripted_runner):
        scripted_runner.script(ticks(6, delay_s=0.1, word="step "))
        asked = tg.send_user_message(GROUP, USER, f"{bot} a short one", chat_type="supergroup")
        done = await answer(tg, "step step", chat=GROUP, after=asked)
        assert done.reply_to is None and done.edits > 0, "the live message, edited"


async def approval_is_sent_then_allowed(tg: FakeTelegram) -> None:
    """ "make x" asks to run Bash: the question comes as a new message, Allow once, done."""
    mark = tg.mark()
    sent = say(tg, "make x")
    asked = await tg.wait_for_message(
        USER,
        after=sent.message_id,
        match=lambda m: "Allow Bash?" in m.body and bool(m.buttons),
        timeout=WAIT_S,
    )
    sends = [c for c in tg.calls("sendMessage", since=mark) if "Allow Bash?" in c.params["text"]]
    edits = [c for c in tg.calls("editMessageText", since=mark) if "Allow" in c.params["text"]]
    assert len(sends) == 1 and edits == [], "sent (which notifies), never edited in"
    assert not sends[0].params.get("disable_notification")
    press = tg.press_button(asked, label="Allow once", user_id=USER)
    await tg.wait_for_callback_answer(press, timeout=WAIT_S)
    await answer(tg, "made", after=asked)


async def test_an_approval_arrives_as_a_new_message(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    touch = Ask("Bash", {"command": "touch x.txt", "description": "make x"})
    scripted_runner.script(
        ScriptedTurn((TextDelta("let me look first"), touch, TextDelta("\n\nmade")))
    )
    await approval_is_sent_then_allowed(tg)


async def test_an_approval_arrives_as_a_new_message_through_the_real_cli(
    tg: FakeTelegram, baton: Baton, fake_api: FakeAnthropic
) -> None:
    fake_api.script(
        Reply.tool_use(
            "Bash", {"command": "touch x.txt", "description": "make x"}, text="let me look first"
        ),
        Reply(text="made"),
    )
    await approval_is_sent_then_allowed(tg)
