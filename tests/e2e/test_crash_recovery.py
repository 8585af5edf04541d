"""SIGKILL of `baton run` (OOM killer, power loss): what the chat acknowledged survives.

The bot is a real process with the real python-telegram-bot against the fake Bot API and
the real Claude CLI against the fake Messages API. The fake holds the first answer open
so the kill lands mid-turn with a second prompt queued behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from chat_adapters.chat_input import Sender
from chat_adapters.dispatch import ChatDispatcher
from session_core.history_lines import read_claude_history
from session_core.history_writer import append_history_entry
from storage import ChatKey
from tests.e2e.bot_process import BatonProcess, telegram_bot_env
from tests.fakes.anthropic import FakeAnthropic, RecordedRequest, Reply, last_prompt
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.memory_surface import MemorySurface
from tests.fakes.telegram_api import FakeTelegram

USER = 4242
SENDER = Sender(app="telegram", user_id="1")
CHAT = ChatKey.of("telegram", 500, 501)


def hold_first(fake_api: FakeAnthropic) -> None:
    """The first model call streams slowly for about a minute; the rest answer at once."""

    def responder(request: RecordedRequest, n: int) -> Reply | None:
        return Reply.slow(240, delay_s=0.25) if n == 1 else None

    fake_api.responder = responder


def prompts_sent(fake_api: FakeAnthropic, text: str) -> int:
    return sum(1 for r in fake_api.messages_requests() if last_prompt(r) == text)


async def kill_mid_turn_with_one_queued(
    bot: BatonProcess, tg: FakeTelegram, fake_api: FakeAnthropic
) -> None:
    tg.send_user_message(USER, USER, "first, held open")
    await asyncio.to_thread(fake_api.wait_for_requests, 1, 60)
    await tg.wait_for_message(USER, contains="tick", timeout=60)  # the answer is streaming
    tg.send_user_message(USER, USER, "second, queued")
    await tg.wait_for_message(USER, contains="Queued", timeout=30)
    await bot.kill()


async def test_sigkill_mid_turn_then_restart_runs_both_prompts_once_and_says_so(
    claude_env: ClaudeEnv, fake_api: FakeAnthropic, tg: FakeTelegram, tmp_path: Path
) -> None:
    """The user sees: their first answer cut off, then after the restart "↻ The bot
    restarted before it finished your message …: running it now" for each, and both
    answers. Kept: both prompts (history.jsonl, the session). Lost: nothing; the second
    prompt's redelivered update does not run it twice."""
    hold_first(fake_api)
    env = telegram_bot_env(claude_env, tmp_path / "data", tg, USER)
    bot = await BatonProcess(env, tmp_path).start()
    try:
        await kill_mid_turn_with_one_queued(bot, tg, fake_api)
        mark = max(m.message_id for m in tg.transcript(USER))
        bot = await BatonProcess(env, tmp_path).start()
        await tg.wait_for_message(
            USER,
            contains="restarted before it finished your message “first",
            after=mark,
            timeout=60,
        )
        await tg.wait_for_message(USER, contains="to: first, held open", after=mark, timeout=90)
        await tg.wait_for_message(USER, contains="to: second, queued", after=mark, timeout=90)
        assert await bot.terminate() == 0
    finally:
        await bot.aclose()
    assert prompts_sent(fake_api, "second, queued") == 1  # redelivered, run once
    assert prompts_sent(fake_api, "first, held open") == 2  # the cut turn, run again
    displays = [e.display for e in read_claude_history(claude_env.config_dir / "history.jsonl")]
    assert "second, queued" in displays and "first, held open" in displays


async def test_a_session_that_moved_on_meanwhile_asks_before_running(
    claude_env: ClaudeEnv, fake_api: FakeAnthropic, tg: FakeTelegram, tmp_path: Path
) -> None:
    """The user sees: "Run it now?" with *Run it now* / *Drop it* for a prompt whose
    session got a newer prompt from the terminal while the bot was down. Kept: the
    prompt until they answer. Lost: nothing (Drop is their choice)."""
    hold_first(fake_api)
    env = telegram_bot_env(claude_env, tmp_path / "data", tg, USER)
    bot = await BatonProcess(env, tmp_path).start()
    try:
        await kill_mid_turn_with_one_queued(bot, tg, fake_api)
        history = claude_env.config_dir / "history.jsonl"
        sid = read_claude_history(history)[0].session_id
        assert sid is not None
        await asyncio.sleep(0.05)
        append_history_entry(
            history,
            display="typed at the desk meanwhile",
            project=claude_env.project,
            session_id=sid,
        )
        mark = max(m.message_id for m in tg.transcript(USER))
        bot = await BatonProcess(env, tmp_path).start()
        question = await tg.wait_for_message(
            USER,
            contains="Run it now?",
            after=mark,
            timeout=60,
        )
        assert "first, held open" in question.body
        tg.press_button(question, label="Run it now")
        await tg.wait_for_message(USER, contains="to: first, held open", after=mark, timeout=90)
        second = await tg.wait_for_message(
            USER, contains="Run it now?", after=question.message_id, timeout=60
        )
        assert "second, queued" in second.body
        tg.press_button(second, label="Drop it")
        await tg.wait_for_message(USER, contains="Dropped", after=mark, timeout=30)
        assert await bot.terminate() == 0
    finally:
        await bot.aclose()
    assert prompts_sent(fake_api, "second, queued") == 0


async def test_the_same_message_id_twice_runs_once_and_stop_closes_what_it_drops(
    dispatcher: ChatDispatcher, fake_api: FakeAnthropic
) -> None:
    """The shared layer (the same for Discord message ids): a redelivered message id is
    ignored; /stop's dropped messages and every finished turn leave no open row to rerun
    after a crash."""
    hold_first(fake_api)
    surface = MemorySurface()
    await dispatcher.on_text(surface, CHAT, SENDER, "held", inbound_id="41")
    await until(lambda: "tick" in seen(surface))
    await dispatcher.on_text(surface, CHAT, SENDER, "queued", inbound_id="42")
    await dispatcher.on_text(surface, CHAT, SENDER, "queued", inbound_id="42")  # redelivered
    assert seen(surface).count("Queued") == 1
    assert [p.message_id for p in await dispatcher.db.inbound.unfinished("telegram")] == [
        "41",
        "42",
    ]
    await dispatcher.on_command(surface, CHAT, SENDER, "stop", "")
    await until(lambda: "Interrupted" in seen(surface))
    await until_empty(dispatcher)
    assert prompts_sent(fake_api, "queued") == 0


async def until(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.05)


async def until_empty(dispatcher: ChatDispatcher) -> None:
    async with asyncio.timeout(30):
        while await dispatcher.db.inbound.unfinished("telegram"):
            await asyncio.sleep(0.05)


def seen(surface: MemorySurface) -> str:
    return "\n".join(m.display for m in surface.messages)
