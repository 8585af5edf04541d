"""No chat can hold up another (issue 10, finding 2): the whole bot with the real
python-telegram-bot against the fake Bot API (flood control on), scripted turns. One
chat floods a hundred quick messages while another chat's approval button and the
flooding chat's own Stop button are answered promptly, and what does not fit in the
chat's bounded queue is refused out loud, never run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from session_core.events import TextDelta
from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, bot_settings, prompts, say
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.scripted_runner import Ask, Hold, ScriptedRunner, ScriptedTurn
from tests.fakes.telegram_api import ChatMessage, FakeTelegram

OTHER = 5151
FLOOD = 100
QUEUED = 3
"""The chat's bounded queue (BATON_MAX_QUEUED): small, so its acknowledgements, paced
under flood control, are few."""
PROMPT_S = 10.0
"""A press must be answered well within this, even on a loaded 2-core machine; before
the fix it waited behind the flood for minutes."""


def stop_button(tg: FakeTelegram, after: ChatMessage) -> ChatMessage | None:
    return next(
        (
            m
            for m in reversed(tg.sent_messages(USER))
            if m.message_id > after.message_id
            and any("Stop" in b.text for row in m.buttons for b in row)
        ),
        None,
    )


async def test_a_flooding_chat_holds_up_no_other_chat(
    tg: FakeTelegram, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner, tmp_path: Path
) -> None:
    users = f"telegram:{USER},telegram:{OTHER}"
    settings = bot_settings(
        tg, claude_env, tmp_path / "data", BATON_ALLOWED_USERS=users, BATON_MAX_QUEUED=QUEUED
    )
    touch = Ask("Bash", {"command": "touch made.txt && echo approved", "description": "make it"})
    scripted_runner.script(
        ScriptedTurn((touch, TextDelta("approved"))),  # the other chat's turn
        ScriptedTurn((TextDelta("tick "), Hold())),  # the long one, until stopped
    )
    async with Baton(settings, tg, turns=scripted_runner):
        asked = tg.send_user_message(OTHER, OTHER, "make it")
        approval = await tg.wait_for_message(
            OTHER,
            after=asked.message_id,
            match=lambda m: "Allow Bash?" in m.body and bool(m.buttons),
            timeout=WAIT_S,
        )
        fresh = say(tg, "/new")  # not the other chat's session, which waits for approval
        await tg.wait_for_message(USER, after=fresh.message_id, contains="new session")
        first = say(tg, "the long one")
        await tg.wait_for_message(USER, after=first.message_id, contains="tick", timeout=WAIT_S)
        flood = [say(tg, f"flood {n}") for n in range(FLOOD)]
        await tg.wait_for(
            lambda: tg.pending_update_count == 0, timeout=WAIT_S, what="the flood fetched"
        )

        loop = asyncio.get_running_loop()
        started = loop.time()
        press = tg.press_button(approval, label="Allow once", user_id=OTHER)
        await tg.wait_for_callback_answer(press, timeout=PROMPT_S)
        allowed_s = loop.time() - started
        await tg.wait_for_message(
            OTHER, after=approval.message_id, contains="approved", timeout=WAIT_S
        )

        live = stop_button(tg, first)
        assert live is not None, "the long turn shows a Stop button"
        started = loop.time()
        press = tg.press_button(live, label="⏹ Stop", user_id=USER)
        await tg.wait_for_callback_answer(press, timeout=PROMPT_S)
        stop_s = loop.time() - started
        assert allowed_s < PROMPT_S and stop_s < PROMPT_S, (allowed_s, stop_s)

        full = await tg.wait_for_message(
            USER, after=flood[0].message_id, contains="queue is full", timeout=WAIT_S
        )
        assert "nothing was sent" in full.body.casefold()
        stopped = say(tg, "/stop")
        await tg.wait_for_message(
            USER, after=stopped.message_id, contains="dropped", timeout=2 * WAIT_S
        )
    given = prompts(scripted_runner)
    assert given[:2] == ["make it", "the long one"]
    for n in range(QUEUED, FLOOD):
        assert f"flood {n}" not in given, "a refused message reached Claude"
