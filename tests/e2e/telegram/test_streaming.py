"""Live replies in Telegram: one message edited in place under the rate limit, a Stop
button and /stop that interrupt, long answers split without breaking code, and
messages sent while busy queued, acknowledged and answered in order. Scripted turns:
the subject is the chat, not Claude Code."""

from __future__ import annotations

import re

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
from tests.fakes.telegram_api import ChatMessage, FakeTelegram, utf16_len

HELD = ScriptedTurn((TextDelta("tick "), TextDelta("tick "), Hold()))
"""A turn that streams a little, then runs until it is stopped."""


def has_stop(message: ChatMessage) -> bool:
    return any("Stop" in b.text for row in message.buttons for b in row)


async def test_stop_button_and_stop_command_interrupt_mid_stream(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    scripted_runner.script(HELD, HELD)
    sent = say(tg, "first")
    live = await tg.wait_for_message(
        USER, after=sent.message_id, match=lambda m: "tick" in m.body and has_stop(m)
    )
    press = tg.press_button(live, label="Stop", user_id=USER)
    toast = await tg.wait_for_callback_answer(press, timeout=WAIT_S)
    assert toast.text == "Stopping…"
    done = await answer(tg, "Interrupted", after=sent)
    assert done.message_id == live.message_id, "the live message itself is finalized"
    assert not has_stop(done)
    assert scripted_runner.interrupts == scripted_runner.started[:1], "the turn was stopped"
    assert any(a.action == "typing" for a in tg.chat_actions), "typing while it works"

    sent = say(tg, "second")
    await tg.wait_for_message(
        USER, after=sent.message_id, match=lambda m: "tick" in m.body and has_stop(m)
    )
    say(tg, "/stop")
    done = await answer(tg, "Interrupted", after=sent)
    assert not has_stop(done)
    assert any("Stopping the running turn" in text for text in bot_texts(tg))
    assert len(scripted_runner.interrupts) == 2
    assert tg.count_429() == 0


async def test_live_edits_stay_under_one_per_second(
    tg: FakeTelegram, paced_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    scripted_runner.script(ticks(16, delay_s=0.15))
    sent = say(tg, "pace yourself")
    mark = tg.mark()
    done = await answer(tg, "tick", after=sent)
    edits = [c for c in tg.calls("editMessageText", since=mark) if c.ok]
    sends = [c for c in tg.calls("sendMessage", since=mark) if c.ok]
    assert done.body.count("tick") == 16
    assert len(edits) >= 2, "the answer streamed into one message"
    gaps = [b.at - a.at for a, b in zip(sends[:1] + edits, edits, strict=False)]
    assert min(gaps) >= 0.9, f"edits closer than a second apart: {gaps}"
    assert tg.count_429() == 0


LONG_PROSE = " ".join(f"prose{i:04d}" for i in range(330))
CODE = "".join(f"line_{i:04d} = compute({i})\n" for i in range(160))
TAIL = " ".join(f"tail{i:04d}" for i in range(200))
LONG_ANSWER = f"{LONG_PROSE}\n\n```python\n{CODE}```\n\n{TAIL}"


def streamed(text: str, chunks: int) -> ScriptedTurn:
    size = -(-len(text) // chunks)
    return ScriptedTurn(tuple(TextDelta(text[i : i + size]) for i in range(0, len(text), size)))


async def test_long_answer_is_split_without_breaking_the_code_block(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    assert utf16_len(LONG_ANSWER) > 2 * 4096
    scripted_runner.script(streamed(LONG_ANSWER, 40))
    sent = say(tg, "a long answer please")
    await answer(tg, "tail0199", after=sent)

    replies = [m for m in tg.sent_messages(USER) if m.message_id > sent.message_id]
    assert len(replies) >= 3
    assert all(utf16_len(m.body) <= 4096 for m in replies)
    assert not any(has_stop(m) for m in replies)
    assert not any("```" in m.body for m in replies), "fences are rendered, not shown"
    code_parts = [text for m in replies for text in m.entity_texts("pre")]
    assert len([m for m in replies if m.entity_texts("pre")]) >= 2, "code spans two messages"
    code_lines = re.findall(r"line_\d{4} = compute\(\d+\)", "\n".join(code_parts))
    assert code_lines == re.findall(r"line_\d{4} = compute\(\d+\)", CODE), "code lost"
    words = re.findall(r"(?:prose|tail)\d{4}", "\n".join(m.body for m in replies))
    assert words == re.findall(r"(?:prose|tail)\d{4}", LONG_ANSWER), "prose lost or repeated"
    assert tg.count_429() == 0


async def test_burst_while_busy_is_acknowledged_and_answered_in_order(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    scripted_runner.script(HELD)
    first = say(tg, "first")
    await tg.wait_for_message(USER, after=first.message_id, contains="tick")
    for word in ("second", "third", "fourth"):
        say(tg, word)
    await tg.wait_for(
        lambda: sum("Queued" in t for t in bot_texts(tg)) == 3, timeout=WAIT_S, what="queued"
    )
    scripted_runner.release()  # the first turn finishes while the others wait
    await answer(tg, "to: fourth", after=first)

    texts = bot_texts(tg)
    assert sum("Queued" in t for t in texts) == 3, texts
    answered = [t for t in texts if "SCRIPTED-REPLY" in t]
    order = [next(w for w in ("second", "third", "fourth") if w in t) for t in answered]
    assert order == ["second", "third", "fourth"]
    assert prompts(scripted_runner) == ["first", "second", "third", "fourth"]
    assert len(set(scripted_runner.started)) == 1, "one session, resumed each time"
    assert tg.count_429() == 0
