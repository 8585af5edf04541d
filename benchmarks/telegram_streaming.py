"""How fast and how faithfully does a streamed answer reach a Telegram chat?

The whole bot as ``baton run`` builds it (``chat_adapters.app.serve``), its
python-telegram-bot application long-polling the fake Bot API (127.0.0.1, flood control
on: 1 message/s per chat with a burst of 4), the real Claude CLI talking to
FakeAnthropic. In one run:

1. First visible output. The user writes the first message of a fresh session (after
   ``/new``); the time until the bot's first message with text exists in the chat,
   against the CLI's own time to first token: a bare ``claude_agent_sdk.query`` (fresh
   CLI, partial messages) until its first text delta. Interleaved runs, medians.
   Goal: ratio <= 1.2. The "typing…" indicator's delay is shown too.
2. Pacing. A slow answer (~10 s of deltas) and a long one (several messages): Bot API
   calls that send or edit, against one per streamed second plus the final messages;
   the most edits of one message inside any one second; 429s. Goals: within budget,
   <= 1 edit/s, no 429.
3. Completeness. Text delivered / text produced, both as the chat shows it (every word
   of the model's answer, in order, in the final messages) and as
   ``StreamingReply.stats`` counts it (a reply driven on a TelegramSurface directly,
   from the runner's events). Goal: 1.0.

Run: ``uv run python benchmarks/telegram_streaming.py [--runs N]`` (~1 min).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog
from claude_agent_sdk import ClaudeAgentOptions, StreamEvent, query
from telegram import Bot

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chat_adapters.app import serve
from chat_adapters.settings import load_settings
from chat_adapters.streaming import StreamingReply
from chat_adapters.telegram.surface import TelegramSurface, outbox_for
from session_core.catalog import SessionCatalog
from session_core.claude_home import ClaudeHome
from session_core.runner import TurnRunner
from tests.fakes.anthropic import FakeAnthropic, Reply, long_text
from tests.fakes.claude_cli import ClaudeEnv, isolated_claude_env
from tests.fakes.telegram_api import ChatMessage, FakeTelegram

GOAL_FIRST_OUTPUT = 1.2
GOAL_EDITS_PER_S = 1.0
USER = 4242
WAIT_S = 60.0
READING_S = 1.5
"""A person reads the bot's last message before writing the next one."""
SLOW_DELTAS, SLOW_DELAY_S = 40, 0.25
LONG_CHARS = 12000
SENDING = ("sendMessage", "editMessageText", "sendDocument")


@contextmanager
def cli_environment(world: ClaudeEnv) -> Iterator[None]:
    """The CLI env in this process: the SDK merges ``os.environ`` under the runner's."""
    saved = {name: os.environ.get(name) for name in world.env}
    os.environ.update(world.env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def cli_first_token(world: ClaudeEnv, prompt: str) -> float:
    """Seconds from spawning a bare SDK query to its first text delta."""
    options = ClaudeAgentOptions(
        cwd=str(world.project), env=world.env, include_partial_messages=True
    )
    start = time.monotonic()
    first = 0.0
    async for message in query(prompt=prompt, options=options):
        if first == 0.0 and isinstance(message, StreamEvent):
            event: dict[str, Any] = message.event
            if event.get("type") == "content_block_delta" and event["delta"].get("text"):
                first = time.monotonic() - start
    assert first > 0, "the CLI streamed no text"
    return first


def has_stop(message: ChatMessage) -> bool:
    return any("Stop" in b.text for row in message.buttons for b in row)


async def as_a_person(tg: FakeTelegram) -> None:
    """Write only READING_S after the bot last sent or edited anything."""
    touched = [c.at for c in tg.calls() if c.method in SENDING]
    wait = max(touched, default=0.0) + READING_S - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


async def new_session(tg: FakeTelegram) -> None:
    await as_a_person(tg)
    asked = tg.send_user_message(USER, USER, "/new")
    await tg.wait_for_message(
        USER, after=asked.message_id, contains="next message starts", timeout=WAIT_S
    )


async def first_output(tg: FakeTelegram, prompt: str) -> tuple[float, float]:
    """(seconds to the first bot message with text, seconds to "typing…")."""
    await as_a_person(tg)
    mark = tg.mark()
    sent_at = time.monotonic()
    sent = tg.send_user_message(USER, USER, prompt)
    first = await tg.wait_for_call("sendMessage", since=mark, match=lambda c: c.ok, timeout=WAIT_S)
    typing = [a.at for a in tg.chat_actions if a.at >= sent_at]
    await tg.wait_for_message(
        USER,
        after=sent.message_id,
        match=lambda m: not has_stop(m) and "to:" in m.body,
        timeout=WAIT_S,
    )
    return first.at - sent_at, (min(typing) - sent_at) if typing else math.nan


def max_in_window(times: list[float], window: float) -> int:
    return max(
        (sum(1 for u in times[i:] if u - t < window) for i, t in enumerate(times)), default=0
    )


async def streamed(
    tg: FakeTelegram, fake: FakeAnthropic, reply: Reply, prompt: str
) -> dict[str, float]:
    """Stream ``reply`` into the chat; pacing and completeness as the chat saw them."""
    fake.script(reply)
    await as_a_person(tg)
    mark, limited = tg.mark(), tg.count_429()
    sent = tg.send_user_message(USER, USER, prompt)
    produced = reply.text.split()

    def turn() -> list[ChatMessage]:
        return [m for m in tg.sent_messages(USER) if m.message_id > sent.message_id]

    def done() -> bool:
        new = turn()
        shown = sum(len(m.body.split()) for m in new)
        return bool(new) and not any(has_stop(m) for m in new) and shown >= len(produced)

    await tg.wait_for(done, timeout=2 * WAIT_S, what="the final message")
    calls = [c for c in tg.calls(since=mark) if c.method in SENDING and c.ok]
    seconds = max(calls[-1].at - calls[0].at, 1e-9)
    new = turn()
    edits: dict[Any, list[float]] = {}
    for call in calls:
        if call.method == "editMessageText":
            edits.setdefault(call.params.get("message_id"), []).append(call.at)
    shown = [w for m in new for w in m.body.split()]
    delivered = sum(len(w.encode()) for w, p in zip(shown, produced, strict=False) if w == p)
    return {
        "seconds": seconds,
        "messages": len(new),
        "calls": len(calls),
        "budget": math.ceil(seconds) + len(new),
        "max_edits_in_1s": max((max_in_window(t, 1.0) for t in edits.values()), default=0),
        "rate_limited": tg.count_429() - limited,
        "delivered_ratio": delivered / sum(len(w.encode()) for w in produced)
        if shown == produced
        else 0.0,
    }


async def stats_through_the_surface(
    tg: FakeTelegram, fake: FakeAnthropic, world: ClaudeEnv
) -> float:
    """``StreamingReply.stats`` for a long answer driven straight onto a Telegram surface."""
    bot = Bot(tg.token, base_url=f"{tg.root_url}/bot", base_file_url=f"{tg.root_url}/file/bot")
    home = ClaudeHome(world.config_dir)
    runner = TurnRunner(home, SessionCatalog(home), base_env=world.env)
    outbox = outbox_for(USER)
    try:
        async with asyncio.timeout(WAIT_S):
            await bot.initialize()
        surface = TelegramSurface(bot, USER, outbox=outbox)
        fake.script(Reply(text=long_text(LONG_CHARS), chunks=60, delay_s=0.05))
        reply = StreamingReply(surface, verbosity=1)
        events = runner.stream_turn("write a lot", world.project, "bench", force_new=True)
        async with asyncio.timeout(2 * WAIT_S):
            await reply.consume(events)
        return reply.stats.delivered_ratio
    finally:
        await runner.aclose()
        await outbox.aclose()
        await bot.shutdown()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


async def main(runs: int) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("telegram").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic() as fake:
        world = isolated_claude_env(Path(tmp) / "claude", fake.url)
        async with FakeTelegram() as tg:
            settings = load_settings(
                TELEGRAM_BOT_TOKEN=tg.token,
                TELEGRAM_API_URL=tg.root_url,
                BATON_ROOTS=str(world.project),
                BATON_DATA_DIR=str(Path(tmp) / "data"),
                CLAUDE_CONFIG_DIR=str(world.config_dir),
                BATON_ALLOWED_USERS=f"telegram:{USER}",
            )
            with cli_environment(world):
                stopping = asyncio.Event()
                bot = asyncio.create_task(serve(settings, ("telegram",), stopping))
                try:
                    await tg.wait_for_call("getUpdates", timeout=WAIT_S)
                    await cli_first_token(world, "warm-up")
                    await new_session(tg)
                    await first_output(tg, "warm-up")
                    cli: list[float] = []
                    ours: list[float] = []
                    typing: list[float] = []
                    for i in range(runs):
                        cli.append(await cli_first_token(world, f"bare {i}"))
                        await new_session(tg)
                        first, typed = await first_output(tg, f"telegram {i}")
                        ours.append(first)
                        typing.append(typed)
                    follow = [(await first_output(tg, f"follow-up {i}"))[0] for i in range(3)]
                    slow = await streamed(
                        tg, fake, Reply.slow(SLOW_DELTAS, SLOW_DELAY_S), "slow answer"
                    )
                    long = await streamed(
                        tg,
                        fake,
                        Reply(text=long_text(LONG_CHARS), chunks=60, delay_s=0.05),
                        "long answer",
                    )
                finally:
                    stopping.set()
                    await asyncio.wait_for(bot, WAIT_S)
                stats_ratio = await stats_through_the_surface(tg, fake, world)

    m_cli, m_ours = statistics.median(cli), statistics.median(ours)
    ratio = m_ours / m_cli
    ok = ratio <= GOAL_FIRST_OUTPUT
    print(f"Telegram streaming, {runs} interleaved runs (fake Bot API + FakeAnthropic, 127.0.0.1)")
    print("1. first visible output")
    print(f"  CLI time to first token (bare SDK query)    {_ms(m_cli)}   baseline")
    print(
        f"  message -> first bot message, new session   {_ms(m_ours)}   ratio {ratio:.2f}"
        f"  (goal <= {GOAL_FIRST_OUTPUT})  {'ok' if ok else 'MISSED'}"
    )
    print(
        f"  ... difference (bot path + the runner's CLI options vs a bare query)"
        f"  {_ms(m_ours - m_cli)}"
    )
    print(
        f"  message -> typing…, new session            {_ms(statistics.median(typing))}"
        f"   ratio {statistics.median(typing) / m_cli:.2f}"
    )
    print(
        f"  ... follow-up on the live session          {_ms(statistics.median(follow))}"
        f"   ratio {statistics.median(follow) / m_cli:.2f}"
    )
    print("  all runs (ms): cli " + " ".join(f"{v * 1000:.0f}" for v in cli))
    print("                 bot " + " ".join(f"{v * 1000:.0f}" for v in ours))
    print("2. pacing")
    for name, run in (("slow answer", slow), ("long answer", long)):
        run_ok = (
            run["calls"] <= run["budget"]
            and run["max_edits_in_1s"] <= GOAL_EDITS_PER_S
            and run["rate_limited"] == 0
        )
        ok = ok and run_ok
        print(
            f"  {name}: {run['seconds']:.1f} s streamed, {run['messages']:.0f} messages, "
            f"{run['calls']:.0f} send/edit calls (budget {run['budget']:.0f} = 1/s + finals, "
            f"{run['calls'] / run['budget']:.2f} of it); most edits of one message in 1 s: "
            f"{run['max_edits_in_1s']:.0f}; 429s: {run['rate_limited']:.0f}  "
            f"{'ok' if run_ok else 'MISSED'}"
        )
    print("3. completeness")
    for name, value in (
        ("slow answer, as the chat shows it", slow["delivered_ratio"]),
        ("long answer, as the chat shows it", long["delivered_ratio"]),
        ("long answer, StreamingReply.stats", stats_ratio),
    ):
        ok = ok and value == 1.0
        print(f"  {name:36s} delivered/produced = {value:.3f}  (goal 1.0)")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    raise SystemExit(asyncio.run(main(parser.parse_args().runs)))
