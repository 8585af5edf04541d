"""Issue 9, finding 2, through the whole bot: a chat chooses bypass while the operator
allows it (its tool call runs unasked), the operator restarts without
``BATON_ALLOW_BYPASS``, and the chat's next tool call is asked, with one notice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, bot_settings, bot_texts, say
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.telegram_api import FakeTelegram


def touch(name: str) -> Reply:
    return Reply.tool_use("Bash", {"command": f"touch {name}", "description": "make a file"})


async def test_bypass_ends_when_the_operator_switches_it_off(
    tg: FakeTelegram, cli_env: ClaudeEnv, fake_api: FakeAnthropic, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    async with Baton(bot_settings(tg, cli_env, data, BATON_ALLOW_BYPASS="true"), tg):
        sent = say(tg, "/mode bypass")
        await answer(tg, "Mode: bypassPermissions", after=sent)
        fake_api.script(touch("while-allowed.txt"), Reply(text="ran in bypass"))
        sent = say(tg, "make a file")
        await answer(tg, "ran in bypass", after=sent)
        assert await asyncio.to_thread((cli_env.project / "while-allowed.txt").exists)
        assert not any("Allow Bash?" in text for text in bot_texts(tg)), "bypass asked nothing"

    async with Baton(bot_settings(tg, cli_env, data), tg):
        fake_api.script(touch("after-restart.txt"), Reply(text="asked this time"))
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
        assert not await asyncio.to_thread((cli_env.project / "after-restart.txt").exists)

        fake_api.script(Reply(text="still default"))
        sent = say(tg, "and now?")
        await answer(tg, "still default", after=sent)
        notices = [t for t in bot_texts(tg) if "BATON_ALLOW_BYPASS is off" in t]
        assert len(notices) == 1, notices
