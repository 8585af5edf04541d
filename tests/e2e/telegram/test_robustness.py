"""Nothing lost when Telegram pushes back or the bot goes away: 429 storms are waited
out, updates sent while the bot was down are answered after it starts again, and
buttons from before a restart answer clearly instead of spinning. Scripted turns."""

from __future__ import annotations

from chat_adapters.interactions import EXPIRED, EXPIRED_AFTER_RESTART, WITHDRAWN_NOTE
from session_core.events import TextDelta
from tests.e2e.telegram.conftest import (
    USER,
    WAIT_S,
    Baton,
    answer,
    bot_texts,
    prompts,
    say,
    ticks,
)
from tests.fakes.scripted_runner import Hold, ScriptedRunner, ScriptedTurn
from tests.fakes.telegram_api import FakeTelegram


async def test_a_429_storm_is_waited_out_and_nothing_is_lost(
    tg: FakeTelegram, paced_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    scripted_runner.script(ticks(12, delay_s=0.2))
    sent = say(tg, "through the storm")
    await tg.wait_for_message(USER, after=sent.message_id, contains="tick")
    tg.flood.storm(4, retry_after=1, chat_id=USER)  # the next edits and sends get 429
    done = await answer(tg, "tick", after=sent, timeout_s=2 * WAIT_S)
    assert tg.count_429(USER) == 4 and tg.flood.storm_left == 0
    assert done.body.split() == ["tick"] * 12, done.body

    tg.flood.storm(3, retry_after=1, chat_id=USER)
    sent = say(tg, "after the storm")
    await answer(tg, "to: after the storm", after=sent, timeout_s=2 * WAIT_S)
    assert tg.count_429(USER) == 7
    assert prompts(scripted_runner) == ["through the storm", "after the storm"]


async def test_updates_sent_while_down_are_answered_after_a_restart(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    baton = scripted_baton
    scripted_runner.script(ScriptedTurn((TextDelta("tick "), Hold())))
    asked = say(tg, "/sessions")
    picker = await tg.wait_for_message(
        USER, after=asked.message_id, match=lambda m: bool(m.buttons)
    )
    live = say(tg, "running when the bot stops")
    await tg.wait_for_message(USER, after=live.message_id, contains="tick")
    await baton.stop()

    first = say(tg, "sent while the bot was down")
    say(tg, "and another one")
    assert tg.pending_update_count == 2
    await baton.start()
    await answer(tg, "to: and another one", after=first)
    texts = bot_texts(tg)
    mine = [t for t in texts if "while the bot was down" in t or "another one" in t]
    assert len(mine) == 2 and "while the bot was down" in mine[0]
    assert tg.dropped_updates == 0
    assert all(tg.deliveries(u) == 1 for u in range(1, tg.mark()) if tg.deliveries(u))

    # Buttons from before the restart answer clearly, then go away (or, if the bot
    # could still edit while stopping, they were already replaced by a notice).
    if not tg.message(USER, picker.message_id).buttons:
        assert "no longer waiting" in tg.message(USER, picker.message_id).body
    else:
        press = tg.press_button(picker.message_id, label="New session", chat_id=USER)
        toast = await tg.wait_for_callback_answer(press, timeout=WAIT_S)
        assert toast.text == EXPIRED_AFTER_RESTART, "the question was kept for restarts"
        await tg.wait_for(
            lambda: not tg.message(USER, picker.message_id).buttons,
            timeout=WAIT_S,
            what="the dead keyboard to go",
        )
    stale = [
        m for m in tg.sent_messages(USER) if any("Stop" in b.text for r in m.buttons for b in r)
    ]
    for message in stale:
        press = tg.press_button(message, label="Stop", user_id=USER)
        toast = await tg.wait_for_callback_answer(press, timeout=WAIT_S)
        assert toast.text == EXPIRED
    assert prompts(scripted_runner).count("running when the bot stops") == 1, "not re-run"


async def test_a_picker_from_before_a_restart_says_the_bot_restarted(
    tg: FakeTelegram, scripted_baton: Baton
) -> None:
    """The same words and the same end as on Discord (tests/e2e/discord/test_resilience.py):
    the question was kept in the database, so the press after a restart is told why it
    is dead, and its keyboard goes."""
    asked = say(tg, "/sessions")
    picker = await tg.wait_for_message(
        USER, after=asked.message_id, match=lambda m: bool(m.buttons)
    )
    await scripted_baton.stop()
    await scripted_baton.start()
    if not tg.message(USER, picker.message_id).buttons:
        # The bot could still edit while stopping: the picker says it was withdrawn.
        assert WITHDRAWN_NOTE in tg.message(USER, picker.message_id).body
        return
    before = len(bot_texts(tg))
    press = tg.press_button(picker.message_id, label="New session", chat_id=USER)
    toast = await tg.wait_for_callback_answer(press, timeout=WAIT_S)
    assert toast.text == EXPIRED_AFTER_RESTART
    await tg.wait_for(
        lambda: not tg.message(USER, picker.message_id).buttons,
        timeout=WAIT_S,
        what="the dead keyboard to go",
    )
    assert len(bot_texts(tg)) == before, "a dead button does nothing else"
