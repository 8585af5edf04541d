"""How fast and how faithfully does a streamed answer reach a Discord channel?

The whole bot as ``baton run`` builds it (``chat_adapters.app.serve``), its discord.py
client talking to the fake Discord (REST + gateway on 127.0.0.1), the real Claude CLI
talking to FakeAnthropic. In one run:

1. First visible output. A member posts in a fresh session's thread; the time until
   the bot's first message appears there, against the CLI's own time to first token:
   a bare ``claude_agent_sdk.query`` (fresh CLI, partial messages) until its first text
   delta. Interleaved runs, medians. Goal: ratio <= 1.05. The member writes as a person
   does, a moment after the bot's last message; a message sent back to back with the
   bot's last edit is shown separately (the outbox lets new messages burst, 4 per 5.5 s,
   so it is not held back by the 1 operation/s pacing of edits).
   With the product's default (``BATON_WARM_NEW_SESSIONS``) ``/new`` has started the
   session's CLI while the person types; the same is measured with it off (a second
   bot, interleaved with the bare CLI again): the CLI's start-up then counts.
2. Pacing. A slow answer streamed for ~10 s and a long one over several messages: REST
   calls per streamed second, the shortest gap between two writes of one message, and
   429s. Goals: <= 1 edit/s per message, no 429.
3. Completeness. Text delivered / text produced, both as the chat shows it (every word
   of the model's answer, in order, in the final messages) and as
   ``StreamingReply.stats`` counts it (a reply driven on the Discord surface directly,
   from the runner's events). Goal: 1.0.

Run: ``uv run python benchmarks/discord_streaming.py [--runs N]`` (~1 min).
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    print_all_runs,
    print_completeness,
    print_first_output,
    print_ratio,
    quiet_logs,
    run_script,
    stats_ratio,
)

from chat_adapters.discord.client import BatonClient, use_endpoints
from chat_adapters.interactions import Interactions
from tests.fakes.anthropic import FakeAnthropic, Reply, long_text
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord, SentMessage

JITTER_S = 0.05
"""Arrival times at the fake wobble by a few ms around the paced 1 s."""
LONG_CHARS = 7000
MESSAGE_ROUTES = (
    "POST /channels/{channel_id}/messages",
    "PATCH /channels/{channel_id}/messages/{message_id}",
    "POST /webhooks/{application_id}/{token}",
    "PATCH /webhooks/{application_id}/{token}/messages/{message_id}",
)
_STATUS_LINE = re.compile(r"^-# .*$", re.MULTILINE)


def bot_messages(dc: FakeDiscord, channel_id: int) -> list[SentMessage]:
    return [m for m in dc.messages(channel_id) if m.author_id == dc.bot_user_id and m.type != 18]


def has_stop(message: SentMessage) -> bool:
    return any(c.startswith("baton:s:") for c in message.custom_ids)


async def fresh_thread(dc: FakeDiscord, n: int) -> int:
    """``/new`` in the channel: a thread whose next message starts a new session."""
    await dc.dispatch_slash_command("new", channel_id=dc.channel_id())
    await dc.wait_until(lambda: len(dc.threads()) == n + 1, timeout=WAIT_S, what="a new thread")
    thread = dc.threads()[-1]
    await dc.wait_for_message(thread.id, "next message starts", timeout=WAIT_S)
    return thread.id


async def as_a_person(dc: FakeDiscord, thread_id: int, *, back_to_back: bool = False) -> None:
    """A person reads the bot's last message before writing: at least READING_S after
    the bot last touched the thread (unless measuring ``back_to_back``)."""
    if back_to_back:
        return
    touched = [t for m in bot_messages(dc, thread_id) for t in (m.created_at, *m.edit_times)]
    wait = max(touched, default=0.0) + READING_S - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


async def first_output(
    dc: FakeDiscord, thread_id: int, prompt: str, *, back_to_back: bool = False
) -> float:
    await as_a_person(dc, thread_id, back_to_back=back_to_back)
    before = {m.id for m in bot_messages(dc, thread_id)}
    sent = await dc.send_user_message(thread_id, dc.user_id("alice"), prompt)
    await dc.wait_until(
        lambda: any(m.id not in before for m in bot_messages(dc, thread_id)),
        timeout=WAIT_S,
        what="the first reply message",
    )
    first = min(m.created_at for m in bot_messages(dc, thread_id) if m.id not in before)
    await dc.wait_for_message(
        thread_id, predicate=lambda m: m.id not in before and not has_stop(m) and "to:" in m.content
    )
    return first - sent.created_at


def words(text: str) -> list[str]:
    return _STATUS_LINE.sub("", text).split()


async def streamed(
    dc: FakeDiscord, fake: FakeAnthropic, thread_id: int, reply: Reply, prompt: str
) -> dict[str, float]:
    """Stream ``reply`` into the thread; pacing and completeness as the chat saw them."""
    fake.script(reply)
    await as_a_person(dc, thread_id)
    before = {m.id for m in bot_messages(dc, thread_id)}
    requests_before = len(dc.requests)
    limited_before = dc.rate_limited_total
    await dc.send_user_message(thread_id, dc.user_id("alice"), prompt)
    produced = words(reply.text)

    def done() -> bool:
        new = [m for m in bot_messages(dc, thread_id) if m.id not in before]
        shown = sum(len(words(m.content)) for m in new)
        return bool(new) and not any(has_stop(m) for m in new) and shown >= len(produced)

    await dc.wait_until(done, timeout=WAIT_S * 2, what="the final message")
    new = [m for m in bot_messages(dc, thread_id) if m.id not in before]
    calls = [r for r in dc.requests[requests_before:] if r.route in MESSAGE_ROUTES]
    start = min(m.created_at for m in new)
    end = max([m.created_at, *m.edit_times][-1] for m in new)
    seconds = max(end - start, 1e-9)
    shown = [w for m in new for w in words(m.content)]
    delivered = sum(len(w.encode()) for w, p in zip(shown, produced, strict=False) if w == p)
    return {
        "seconds": seconds,
        "messages": len(new),
        "calls": len(calls),
        "calls_per_s": len(calls) / seconds,
        "min_gap_s": min(
            (b - a for m in new for a, b in pairwise((m.created_at, *m.edit_times))),
            default=float("inf"),
        ),
        "rate_limited": dc.rate_limited_total - limited_before,
        "delivered_ratio": delivered / sum(len(w.encode()) for w in produced)
        if shown[: len(produced)] == produced
        else 0.0,
    }


async def stats_through_the_surface(
    dc: FakeDiscord, fake: FakeAnthropic, world: ClaudeEnv
) -> float:
    """``StreamingReply.stats`` for a long answer driven straight onto a Discord surface."""

    async def ignore(_: Any) -> None:
        return None

    use_endpoints(dc.api_url, dc.gateway_url)
    client = BatonClient(
        interactions=Interactions("discord"),
        on_user_message=ignore,
        guild_id=dc.guild_id,
        guild_ready_timeout=0.05,
    )
    connect: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(WAIT_S):
            await client.login(dc.token)
            connect = asyncio.create_task(client.connect())
            await client.ready.wait()
        channel = client.get_channel(dc.channel_id("baton"))
        assert channel is not None
        surface = client.surface(channel)  # type: ignore[arg-type]
        reply = Reply(text=long_text(LONG_CHARS), chunks=60, delay_s=0.02)
        return await stats_ratio(surface, fake, world, reply)
    finally:
        await client.close()
        if connect is not None:
            await asyncio.wait({connect}, timeout=10)


async def cold_starts(
    dc: FakeDiscord,
    world: ClaudeEnv,
    data_dir: Path,
    values: Mapping[str, object],
    runs: int,
    threads: int,
) -> tuple[list[float], list[float]]:
    """First output of new sessions with the warm start off, interleaved with the bare
    CLI again: (bot, cli) seconds."""
    cold: list[float] = []
    cli: list[float] = []
    async with ServedBot(
        world,
        data_dir,
        ("discord",),
        {**values, "BATON_WARM_NEW_SESSIONS": "false"},
        lambda: dc.wait_until(lambda: dc.gateway_connected, timeout=WAIT_S),
    ):
        for i in range(runs):
            cli.append(await cli_first_token(world, f"bare cold {i}"))
            thread = await fresh_thread(dc, threads + i)
            cold.append(await first_output(dc, thread, f"cold {i}"))
    return cold, cli


async def main(runs: int) -> int:
    quiet_logs("discord")
    with claude_world() as (world, fake, data_dir):
        async with FakeDiscord() as dc:
            values = {
                "DISCORD_BOT_TOKEN": dc.token,
                "DISCORD_API_URL": dc.api_url,
                "DISCORD_GATEWAY_URL": dc.gateway_url,
                "DISCORD_GUILD_ID": dc.guild_id,
                "BATON_ALLOWED_USERS": f"discord:{dc.user_id('alice')}",
                "BATON_WARM_NEW_SESSIONS": "true",  # the product's default
            }
            with cli_environment(world):
                async with ServedBot(
                    world,
                    data_dir,
                    ("discord",),
                    values,
                    lambda: dc.wait_until(
                        lambda: dc.gateway_connected and bool(dc.registered_commands(dc.guild_id)),
                        timeout=WAIT_S,
                    ),
                ):
                    await cli_first_token(world, "warm-up")
                    thread = await fresh_thread(dc, 0)
                    await first_output(dc, thread, "warm-up")
                    cli: list[float] = []
                    ours: list[float] = []
                    for i in range(runs):
                        cli.append(await cli_first_token(world, f"bare {i}"))
                        thread = await fresh_thread(dc, i + 1)
                        ours.append(await first_output(dc, thread, f"discord {i}"))
                    follow = [await first_output(dc, thread, f"follow-up {i}") for i in range(3)]
                    rushed = [
                        await first_output(dc, thread, f"rushed {i}", back_to_back=True)
                        for i in range(3)
                    ]
                    slow = await streamed(
                        dc, fake, thread, Reply.slow(SLOW_DELTAS, SLOW_DELAY_S), "slow answer"
                    )
                    long = await streamed(
                        dc,
                        fake,
                        thread,
                        Reply(text=long_text(LONG_CHARS), chunks=60, delay_s=0.02),
                        "long answer",
                    )
                cold, cold_cli = await cold_starts(
                    dc, world, data_dir, values, runs, len(dc.threads())
                )
                stats = await stats_through_the_surface(dc, fake, world)
            violations = dc.violations

    ok = print_first_output(
        f"Discord streaming, {runs} interleaved runs (fake Discord + FakeAnthropic, 127.0.0.1)",
        cli,
        ours,
    )
    print_ratio("... new session, BATON_WARM_NEW_SESSIONS off ", cold, cold_cli)
    print("      (no Claude Code started at /new: the first prompt waits for its start-up)")
    print_ratio("... follow-up on the live session          ", follow, cli)
    print_ratio("... follow-up sent back to back          ", rushed, cli)
    print("      (right after the bot's last edit: a new message may skip the 1 op/s pacing)")
    print_all_runs(cli, ours)
    print("2. pacing")
    for name, run in (("slow answer", slow), ("long answer", long)):
        edits_per_s = 1 / run["min_gap_s"]
        edits_ok = run["min_gap_s"] >= 1 / GOAL_EDITS_PER_S - JITTER_S and run["rate_limited"] == 0
        ok = ok and edits_ok
        print(
            f"  {name}: {run['seconds']:.1f} s streamed, {run['messages']:.0f} messages, "
            f"{run['calls']:.0f} REST calls = {run['calls_per_s']:.2f}/s; shortest gap between "
            f"two writes of one message {run['min_gap_s'] * 1000:.0f} ms = {edits_per_s:.2f} "
            f"edits/s (goal <= {GOAL_EDITS_PER_S:.0f}); 429s: {run['rate_limited']:.0f}  "
            f"{'ok' if edits_ok else 'MISSED'}"
        )
    ok = print_completeness(slow["delivered_ratio"], long["delivered_ratio"], stats) and ok
    print(f"fake Discord violations: {len(violations)}")
    return 0 if ok and not violations else 1


if __name__ == "__main__":
    raise SystemExit(run_script(main, __doc__, runs=5))
