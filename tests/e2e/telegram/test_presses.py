"""Who pressed what: in a shared group, BATON_APPROVERS decides who may answer an
approval; another member's press is refused to them alone and audited, like every press."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from session_core.events import TextDelta
from storage import Database
from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, bot_settings
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.scripted_runner import Ask, ScriptedRunner, ScriptedTurn
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.usefixtures("unpaced")
"""Unpaced: these tests are about what the chat shows, not about pacing."""

GROUP = -100555
OTHER = 5151


async def test_only_an_approver_answers_an_approval_and_every_press_is_audited(
    tg: FakeTelegram, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner, tmp_path: Path
) -> None:
    settings = bot_settings(
        tg,
        claude_env,
        tmp_path / "data",
        BATON_ALLOWED_USERS=f"telegram:{USER},telegram:{OTHER}",
        BATON_APPROVERS=f"telegram:{USER}",
    )
    touch = Ask("Bash", {"command": "touch made.txt", "description": "make"})
    scripted_runner.script(ScriptedTurn((touch, TextDelta("made it"))))
    async with Baton(settings, tg, turns=scripted_runner) as baton:
        asked = tg.send_user_message(
            GROUP, OTHER, f"@{tg.bot_username} make a file", chat_type="supergroup"
        )
        prompt = await tg.wait_for_message(
            GROUP,
            after=asked.message_id,
            match=lambda m: "Allow Bash?" in m.body and bool(m.buttons),
            timeout=WAIT_S,
        )
        refused = tg.press_button(prompt, label="Allow once", user_id=OTHER)
        answer = await tg.wait_for_callback_answer(refused, timeout=WAIT_S)
        assert "Only an approver" in (answer.text or "") and answer.show_alert
        await asyncio.sleep(0.3)
        assert scripted_runner.decisions == [], "the refused press decided nothing"
        assert tg.message(GROUP, prompt.message_id).buttons, "still waiting for an approver"

        allowed = tg.press_button(prompt, label="Allow once", user_id=USER)
        assert (await tg.wait_for_callback_answer(allowed, timeout=WAIT_S)).text == "→ Allow once"
        await tg.wait_for_message(GROUP, contains="made it", timeout=WAIT_S)
        assert [d.allow for d in scripted_runner.decisions] == [True]
        await baton.stop()

    async with Database.open(settings.data_dir / "baton.sqlite3") as db:
        presses = [e for e in await db.audit.recent(50) if e.action.startswith("press:")]
    assert sorted((e.user_id, e.chat_id, e.action, e.detail, e.allowed) for e in presses) == [
        (str(USER), str(GROUP), "press:approval", "Allow once", True),
        (str(OTHER), str(GROUP), "press:approval", "Allow once", False),
    ]
