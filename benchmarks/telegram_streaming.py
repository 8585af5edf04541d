"""How fast and how faithfully does a streamed answer reach a Telegram chat?

The whole bot as ``baton run`` builds it (``chat_adapters.app.serve``), its
python-telegram-bot application long-polling the fake Bot API (127.0.0.1, flood control
on: 1 message/s per chat with a burst of 4), the real Claude CLI talking to
FakeAnthropic. In one run:

1. First visible output. The user writes the first message of a fresh session (after
   ``/new``); the time until the bot's first message with text exists in the chat,
   against the CLI's own time to first token: a bare ``claude_agent_sdk.query`` (fresh
   CLI, partial messages) until its first text delta. Interleaved runs, medians.
   Goal: ratio <= 1.05. The "typing…" indicator's delay is shown too.
   With the product's default (``BATON_WARM_NEW_SESSIONS``) ``/new`` has started the
   session's CLI while the person types; the same is measured with it off (a second
   bot, interleaved with the bare CLI again): the CLI's start-up then counts.
2. Pacing. A slow answer (~10 s of deltas) and a long one (several messages): Bot API
   calls that send or edit, against one per streamed second plus the final messages;
   the most edits of one message inside any one second; 429s. Goals: within budget,
   <= 1 edit/s, no 429.
3. Completeness. Text delivered / text produced, both as the chat shows it (every word
   of the model's answer, in order, in the final messages) and as
   ``StreamingReply.stats`` counts it (a reply driven on a TelegramSurface directly,
   from the runner's events). Goal: 1.0.

4. The draft path (``BATON_TELEGRAM_DRAFTS``, private chats through
   ``sendMessageDraft``, see ``draft_path.py``) beside the edit path, same run: time
   to the answer's first visible text, and for the slow answer drafts per second
   (not held to one edit a second), edits, 429s, completeness.

Run: ``uv run python benchmarks/telegram_streaming.py [--runs N]`` (~2 min).
"""

from __future__ import annotations

import asyncio
import math
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from draft_path import first_draft, streamed_as_drafts
from streaming_harness import (
    GOAL_EDITS_PER_S,
    READING_S,
    SLOW_DELAY_S,
    SLOW_DELTAS,
    WAIT_S,
    ServedBot,
    claude_world,
    cli_environment,
    cli_first_token,
    ms,
    print_all_runs,
    print_completeness,
    print_first_output,
    print_ratio,
    quiet_logs,
    run_script,
    stats_ratio,
)
from telegram import Bot

from chat_adapters.telegram.api import outbox_for
from chat_adapters.telegram.surface import TelegramSurface
from tests.fakes.anthropic import FakeAnthropic, Reply, long_text
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.telegram_api import ChatMessage, FakeTelegram

USER = 4242
LONG_CHARS = 12000
SENDING = ("sendMessage", "editMessageText", "sendDocument")


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
    outbox = outbox_for(USER)
    try:
        async with asyncio.timeout(WAIT_S):
            await bot.initialize()
        surface = TelegramSurface(bot, USER, outbox=outbox)
        reply = Reply(text=long_text(LONG_CHARS), chunks=60, delay_s=0.05)
        return await stats_ratio(surface, fake, world, reply)
    finally:
        await outbox.aclose()
        await bot.shutdown()


async def cold_starts(
    tg: FakeTelegram, world: ClaudeEnv, data_dir: Path, values: Mapping[str, object], runs: int
) -> tuple[list[float], list[float]]:
    """First output of new sessions with the warm start off, interleaved with the bare
    CLI again: (bot, cli) seconds."""
    cold: list[float] = []
    cli: list[float] = []
    with cli_environment(world):
        async with ServedBot(
            world,
            data_dir,
            ("telegram",),
            {**values, "BATON_WARM_NEW_SESSIONS": "false"},
            lambda: tg.wait_for_call("getUpdates", since=tg.mark(), timeout=WAIT_S),
        ):
            for i in range(runs):
                cli.append(await cli_first_token(world, f"bare cold {i}"))
                await new_session(tg)
                cold.append((await first_output(tg, f"cold {i}"))[0])
    return cold, cli


async def main(runs: int) -> int:
    quiet_logs("telegram", "httpx")
    with claude_world() as (world, fake, data_dir):
        async with FakeTelegram() as tg:
            values = {
                "TELEGRAM_BOT_TOKEN": tg.token,
                "TELEGRAM_API_URL": tg.root_url,
                "BATON_ALLOWED_USERS": f"telegram:{USER}",
                # Rows 1-3 measure the edited live message (groups, and private chats
                # with drafts off); row 4 turns drafts on, the private-chat default.
                "BATON_TELEGRAM_DRAFTS": "false",
                "BATON_WARM_NEW_SESSIONS": "true",  # the product's default
            }
            with cli_environment(world):
                async with ServedBot(
                    world,
                    data_dir,
                    ("telegram",),
                    values,
                    lambda: tg.wait_for_call("getUpdates", timeout=WAIT_S),
                ):
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
                stats = await stats_through_the_surface(tg, fake, world)
                cold, cold_cli = await cold_starts(tg, world, data_dir, values, runs)
                with cli_environment(world):
                    async with ServedBot(
                        world,
                        data_dir,
                        ("telegram",),
                        values | {"BATON_TELEGRAM_DRAFTS": "true"},
                        lambda: tg.wait_for_call("getUpdates", since=tg.mark(), timeout=WAIT_S),
                    ):
                        await new_session(tg)
                        await first_draft(tg, "draft warm-up")
                        drafted: list[float] = []
                        for i in range(runs):
                            await new_session(tg)
                            await as_a_person(tg)
                            drafted.append(await first_draft(tg, f"drafted {i}"))
                        await as_a_person(tg)
                        draft_run = await streamed_as_drafts(
                            tg, fake, Reply.slow(SLOW_DELTAS, SLOW_DELAY_S), "slow drafted"
                        )

    ok = print_first_output(
        f"Telegram streaming, {runs} interleaved runs (fake Bot API + FakeAnthropic, 127.0.0.1)",
        cli,
        ours,
    )
    print(
        f"  ... difference (bot path + the runner's CLI options vs a bare query)"
        f"  {ms(statistics.median(ours) - statistics.median(cli))}"
    )
    print_ratio("... new session, BATON_WARM_NEW_SESSIONS off ", cold, cold_cli)
    print("      (no Claude Code started at /new: the first prompt waits for its start-up)")
    print_ratio("message -> typing…, new session            ", typing, cli)
    print_ratio("... follow-up on the live session          ", follow, cli)
    print_all_runs(cli, ours)
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
    ok = print_completeness(slow["delivered_ratio"], long["delivered_ratio"], stats) and ok
    print("4. draft path (BATON_TELEGRAM_DRAFTS) beside the edit path")
    m_edit, m_draft = statistics.median(ours), statistics.median(drafted)
    print(
        f"  message -> first answer text, new session: edits {ms(m_edit)}, drafts "
        f"{ms(m_draft)}   ratio drafts/edits {m_draft / m_edit:.2f}"
    )
    print("  all draft runs (ms): " + " ".join(f"{v * 1000:.0f}" for v in drafted))
    draft_ok = draft_run.rate_limited == 0 and draft_run.complete and draft_run.edits == 0
    ok = ok and draft_ok
    print(
        f"  slow answer: edits path {slow['calls']:.0f} send/edit calls, at most "
        f"{slow['max_edits_in_1s']:.0f} edit(s) of one message in 1 s; drafts path "
        f"{draft_run.drafts} drafts over {draft_run.seconds:.1f} s "
        f"({draft_run.drafts / max(draft_run.seconds, 1e-9):.1f}/s, at most "
        f"{draft_run.max_drafts_in_1s} in 1 s), {draft_run.edits} edits, "
        f"{draft_run.rate_limited} 429s, final message complete: {draft_run.complete}  "
        f"{'ok' if draft_ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(run_script(main, __doc__, runs=7))
