"""Private chats stream through message drafts (``BATON_TELEGRAM_DRAFTS``): the answer
animates without the one-edit-a-second pace, then arrives as a new message, which
notifies; a Stop button stands above the draft meanwhile. Groups keep the edited
message. Real PTB, the fake Bot API (which records drafts), scripted turns."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_adapters.telegram import drafts
from session_core.events import TextDelta
from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, bot_settings, say, ticks
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.scripted_runner import Hold, Pause, ScriptedRunner, ScriptedTurn
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.usefixtures("unpaced")
"""Unpaced: these tests are about what the chat shows, not about pacing."""

GROUP = -100992


@pytest.fixture
async def drafting(
    tg: FakeTelegram, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner, tmp_path: Path
) -> AsyncIterator[Baton]:
    settings = bot_settings(tg, claude_env, tmp_path / "data", BATON_TELEGRAM_DRAFTS=True)
    async with Baton(settings, tg, turns=scripted_runner) as running:
        yield running


async def test_a_private_turn_streams_as_drafts_then_a_new_message(
    tg: FakeTelegram, drafting: Baton, scripted_runner: ScriptedRunner
) -> None:
    scripted_runner.script(ticks(8, delay_s=0.15))
    mark = tg.mark()
    sent = say(tg, "count")
    stop = await tg.wait_for_message(
        USER, contains="Working", after=sent.message_id, timeout=WAIT_S
    )
    assert any("Stop" in b.text for row in stop.buttons for b in row)
    done = await answer(tg, "tick tick tick", after=sent)
    drafts = [d for d in tg.drafts if d.chat_id == USER]
    assert len(drafts) >= 3, "the answer animated as drafts"
    assert len({d.draft_id for d in drafts}) == 1
    lengths = [len(d.text) for d in drafts]
    assert lengths == sorted(lengths), "each draft shows more of the answer"
    fastest = min(b.at - a.at for a, b in itertools.pairwise(drafts))
    assert fastest < 0.9, "not held to one edit a second"
    assert done.edits == 0 and tg.calls("editMessageText", since=mark) == []
    await tg.wait_for(
        lambda: tg.message(USER, stop.message_id).deleted, timeout=WAIT_S, what="Stop to go"
    )


async def test_stop_above_the_draft_interrupts(
    tg: FakeTelegram, drafting: Baton, scripted_runner: ScriptedRunner
) -> None:
    scripted_runner.script(
        ScriptedTurn((TextDelta("tock "), Pause(0.4), TextDelta("tock "), Hold()))
    )
    sent = say(tg, "count long")
    await tg.wait_for(lambda: len(tg.drafts) >= 2, timeout=WAIT_S, what="drafts")
    stop = await tg.wait_for_message(
        USER, contains="Working", after=sent.message_id, timeout=WAIT_S
    )
    press = tg.press_button(stop, label="⏹ Stop", user_id=USER)
    assert (await tg.wait_for_callback_answer(press, timeout=WAIT_S)).text == "Stopping…"
    done = await answer(tg, "tock", after=stop)
    assert done.body.count("tock") == 2, "what it had said when stopped"
    assert scripted_runner.interrupts == scripted_runner.started


async def test_groups_keep_the_edited_message(
    tg: FakeTelegram, drafting: Baton, scripted_runner: ScriptedRunner
) -> None:
    scripted_runner.script(ticks(6, delay_s=0.1, word="step "))
    bot = f"@{tg.bot_username}"
    asked = tg.send_user_message(GROUP, USER, f"{bot} count", chat_type="supergroup")
    done = await answer(tg, "step step", chat=GROUP, after=asked)
    assert tg.drafts == [] and done.edits > 0


async def test_a_quiet_draft_is_shown_again_before_it_fades(
    tg: FakeTelegram,
    claude_env: ClaudeEnv,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(drafts, "DRAFT_REFRESH_S", 0.25)
    settings = bot_settings(tg, claude_env, tmp_path / "data", BATON_TELEGRAM_DRAFTS=True)
    async with Baton(settings, tg, turns=scripted_runner):
        quiet = (TextDelta("before the pause "), Pause(1.0), TextDelta("after it"))
        scripted_runner.script(ScriptedTurn(quiet))
        sent = say(tg, "pause")
        await answer(tg, "after it", after=sent)
    texts = [d.text for d in tg.drafts]
    assert any(texts.count(t) >= 3 for t in set(texts)), texts
