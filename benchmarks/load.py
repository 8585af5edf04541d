"""Many chats at once on both apps: is anything lost, and what does the wait cost?

The whole bot as ``baton run`` builds it, serving Telegram (the fake Bot API, flood
control on) and Discord (the fake REST + gateway) at once, the real Claude CLI against
FakeAnthropic, ``BATON_MAX_LIVE_CLIENTS`` at its default. ``--chats`` chats (half
Telegram private chats, half Discord threads), each on its own new session, send
``--prompts`` prompts back to back. In the mix: in the first chat of each app one prompt
asks for a mutating Bash command that is allowed from the chat's button, and in the
second chat of each app a slow answer is stopped with ``/stop`` before the rest is sent.

Figures: prompts lost (never reached the model, or never answered in the chat),
duplicated (reached the model twice), 429s from either app, per-session order (each
chat's answers in the order sent), p50/p95 time from a prompt to its first visible
output and its queue wait (sent until the model sees it), approval press to answer, and
peak RSS of the bot's process (the fakes share it) and of all Claude processes. The
baseline is one Telegram chat doing the same, measured first in the same run.

Run: ``uv run python benchmarks/load.py [--chats 20] [--prompts 5]`` (~3 min on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streaming_harness import ServedBot, claude_world, cli_environment, quiet_logs

from chat_adapters.discord.client import use_endpoints
from tests.e2e.discord.conftest import choose
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.discord_api import FakeDiscord, SentMessage
from tests.fakes.telegram_api import FakeTelegram

WAIT_S = 600.0
FIRST_TG_USER = 7000
WALL_OFFSET = time.time() - time.monotonic()
"""FakeAnthropic stamps requests with wall time; the chat fakes with monotonic time."""


@dataclass
class Sent:
    chat: str
    text: str
    at: float
    expect_answer: bool = True
    api_at: float | None = None
    first_at: float | None = None


@dataclass
class Chat:
    """One chat, whichever app: how to write in it and what the bot showed there."""

    name: str
    send: Callable[[str], Awaitable[float]]
    outputs: Callable[[], list[tuple[float, str]]]
    approve: Callable[[], Awaitable[float]]
    stop: Callable[[], Awaitable[float]]
    sent: list[Sent] = field(default_factory=list)

    async def say(self, text: str, *, expect_answer: bool = True) -> Sent:
        at = await self.send(text)
        item = Sent(self.name, text, at, expect_answer)
        self.sent.append(item)
        return item

    async def wait_for(self, contains: str, after: float) -> None:
        async with asyncio.timeout(WAIT_S):
            while not any(at >= after and contains in text for at, text in self.outputs()):
                await asyncio.sleep(0.05)


def telegram_chat(tg: FakeTelegram, user: int) -> Chat:
    async def send(text: str) -> float:
        at = time.monotonic()
        tg.send_user_message(user, user, text)
        return at

    def outputs() -> list[tuple[float, str]]:
        return [
            (c.at, str(c.params.get("text", "")))
            for c in tg.calls()
            if c.method in ("sendMessage", "editMessageText")
            and str(c.params.get("chat_id")) == str(user)
        ]

    async def approve() -> float:
        asked = await tg.wait_for_message(
            user, match=lambda m: "Allow Bash?" in m.body and bool(m.buttons), timeout=WAIT_S
        )
        start = time.monotonic()
        press = tg.press_button(asked, label="Allow once", user_id=user)
        await tg.wait_for_callback_answer(press, timeout=WAIT_S)
        return time.monotonic() - start

    return Chat(f"tg{user - FIRST_TG_USER}", send, outputs, approve, lambda: send("/stop"))


def discord_chat(dc: FakeDiscord, thread: int, n: int) -> Chat:
    alice = dc.user_id("alice")

    async def send(text: str) -> float:
        at = time.monotonic()
        await dc.send_user_message(thread, alice, text)
        return at

    def bot(m: SentMessage) -> bool:
        return m.author_id == dc.bot_user_id and m.type != 18

    def outputs() -> list[tuple[float, str]]:
        found: list[tuple[float, str]] = []
        for m in dc.messages(thread):
            if bot(m):
                found.append((m.created_at, m.content))
                found.extend((t, m.content) for t in m.edit_times)
        return found

    async def approve() -> float:
        asked = await dc.wait_for_message(
            thread,
            "Allow Bash?",
            predicate=lambda m: any(c.startswith("baton:c:") for c in m.custom_ids),
            timeout=WAIT_S,
        )
        start = time.monotonic()
        await choose(dc, asked, "Allow once")
        await dc.wait_until(lambda: "→ Allow once" in dc.message(asked.id).content, timeout=WAIT_S)
        return time.monotonic() - start

    async def stop() -> float:
        at = time.monotonic()
        await dc.dispatch_slash_command("stop", channel_id=thread, user_id=alice)
        return at

    return Chat(f"dc{n}", send, outputs, approve, stop)


async def new_telegram_chat(tg: FakeTelegram, user: int) -> Chat:
    chat = telegram_chat(tg, user)
    start = time.monotonic()
    await chat.send("/new")
    await chat.wait_for("new session", start)
    return chat


async def new_discord_chat(dc: FakeDiscord, n: int) -> Chat:
    """``/new`` in the channel: a thread whose next message starts a new session."""
    before = len(dc.threads())
    await dc.dispatch_slash_command("new", channel_id=dc.channel_id())
    await dc.wait_until(lambda: len(dc.threads()) > before, timeout=WAIT_S, what="a thread")
    thread = dc.threads()[-1].id
    await dc.wait_for_message(thread, "next message starts", timeout=WAIT_S)
    return discord_chat(dc, thread, n)


def tool_prompt(chat: Chat) -> str:
    name = f"made-{chat.name}.txt"
    return f'{chat.name} TOOL:Bash {{"command": "touch {name}", "description": "make it"}}'


async def drive(chat: Chat, prompts: int, role: str) -> list[float]:
    """One chat's part; returns approval latencies (if it approves)."""
    approvals: list[float] = []
    if role == "stop":
        slow = await chat.say(f"{chat.name} SLOW:60 to be stopped", expect_answer=False)
        await chat.wait_for("tick", slow.at)
        await chat.wait_for("Stopping", await chat.stop())
        note(f"{chat.name}: stopped")
    texts = [f"{chat.name} prompt {p} end" for p in range(prompts)]
    if role == "approve" and prompts >= 2:
        texts[1] = tool_prompt(chat)
    approving = asyncio.ensure_future(chat.approve()) if role == "approve" else None
    for text in texts:
        await chat.say(text)
    if approving is not None:
        approvals.append(await approving)
        note(f"{chat.name}: approved")
    return approvals


def note(text: str) -> None:
    """Progress on stderr, so a stuck run shows where."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class Sampler:
    """Peak RSS of this process and of all Claude CLI processes (and their count)."""

    def __init__(self) -> None:
        self.bot_peak = 0
        self.claude_peak = 0
        self.claude_count_peak = 0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        me = psutil.Process(os.getpid())
        self.bot_peak = max(self.bot_peak, me.memory_info().rss)
        total = count = 0
        for child in me.children(recursive=True):
            try:
                argv = child.cmdline()
                if any(os.path.basename(a).startswith("claude") for a in argv[:2]):
                    total += child.memory_info().rss
                    count += 1
            except psutil.Error:
                continue
        self.claude_peak = max(self.claude_peak, total)
        self.claude_count_peak = max(self.claude_count_peak, count)

    async def run(self) -> None:
        while True:
            await asyncio.to_thread(self.sample)
            await asyncio.sleep(0.25)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


@dataclass
class Result:
    sent: list[Sent]
    lost: int
    duplicated: int
    out_of_order: int
    approvals: list[float]
    sampler: Sampler


async def settle(chats: list[Chat], fake: FakeAnthropic) -> None:
    """Wait until every prompt that expects an answer shows it in its chat."""

    def answered(chat: Chat, item: Sent) -> bool:
        if "TOOL:" in item.text:
            return any("after tool" in text for at, text in chat.outputs() if at >= item.at)
        return any(f"to: {item.text}" in text for _, text in chat.outputs())

    async with asyncio.timeout(WAIT_S):
        while not all(answered(c, s) for c in chats for s in c.sent if s.expect_answer):
            await asyncio.sleep(0.2)


def account(chats: list[Chat], fake: FakeAnthropic, approvals: list[float], s: Sampler) -> Result:
    requests = fake.messages_requests()
    prompts = [(fake.last_prompt(r), r.received_at - WALL_OFFSET) for r in requests]
    lost = duplicated = out_of_order = 0
    every: list[Sent] = []
    for chat in chats:
        expected = [item for item in chat.sent if item.expect_answer]
        seen_order: list[str] = []
        for item in expected:
            hits = [at for text, at in prompts if text == item.text]
            if not hits:
                lost += 1
                continue
            duplicated += len(hits) - 1
            item.api_at = hits[0]
            seen_order.append(item.text)
            later = sorted(
                at for at, text in chat.outputs() if at >= item.api_at and not text.startswith("⏳")
            )
            item.first_at = later[0] if later else None
        by_api = sorted(
            (i for i in expected if i.api_at is not None), key=lambda i: i.api_at or 0.0
        )
        if [i.text for i in by_api] != seen_order:
            out_of_order += 1
        answers = [
            text
            for _, text in sorted(chat.outputs())
            if any(f"to: {i.text}" in text for i in expected)
        ]
        shown: list[str] = []
        for text in answers:
            for i in expected:
                if f"to: {i.text}" in text and i.text not in shown:
                    shown.append(i.text)
        plain = [i.text for i in expected if "TOOL:" not in i.text]
        if shown != plain:
            out_of_order += 1
        every.extend(expected)
    return Result(every, lost, duplicated, out_of_order, approvals, s)


def percentiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def first_outputs(result: Result) -> list[float]:
    return [i.first_at - i.at for i in result.sent if i.first_at is not None]


def queue_waits(result: Result) -> list[float]:
    return [i.api_at - i.at for i in result.sent if i.api_at is not None]


async def run(args: argparse.Namespace) -> int:
    quiet_logs("discord", "telegram", "httpx")
    tg_chats = max(1, args.chats // 2)
    dc_chats = max(1, args.chats - tg_chats)
    with claude_world() as (world, fake, data_dir):
        async with FakeTelegram() as tg, FakeDiscord() as dc:
            use_endpoints(dc.api_url, dc.gateway_url)
            users = [FIRST_TG_USER + n for n in range(tg_chats + 1)]
            allowed = [f"telegram:{u}" for u in users] + [f"discord:{dc.user_id('alice')}"]
            values = {
                "TELEGRAM_BOT_TOKEN": tg.token,
                "TELEGRAM_API_URL": tg.root_url,
                "DISCORD_BOT_TOKEN": dc.token,
                "DISCORD_API_URL": dc.api_url,
                "DISCORD_GATEWAY_URL": dc.gateway_url,
                "DISCORD_GUILD_ID": dc.guild_id,
                "BATON_ALLOWED_USERS": ",".join(allowed),
                "BATON_APPROVAL_TIMEOUT_S": 600,
            }

            async def ready() -> None:
                mark = tg.mark()
                await tg.wait_for_call("getUpdates", since=mark, timeout=60)
                await dc.wait_until(
                    lambda: dc.gateway_connected and bool(dc.registered_commands(dc.guild_id)),
                    timeout=60,
                )

            with cli_environment(world):
                async with ServedBot(world, data_dir, ("telegram", "discord"), values, ready):
                    # Baseline: one chat alone, the same prompts back to back.
                    note("bot ready; baseline chat")
                    single = [await new_telegram_chat(tg, users[-1])]
                    sampler = Sampler()
                    sampler.start()
                    await drive(single[0], args.prompts, "plain")
                    note("baseline prompts sent")
                    await settle(single, fake)
                    await sampler.stop()
                    base = account(single, fake, [], sampler)

                    chats = [await new_telegram_chat(tg, u) for u in users[:tg_chats]]
                    chats += [await new_discord_chat(dc, n) for n in range(dc_chats)]
                    note(f"{len(chats)} chats on new sessions; load starts")
                    roles = ["approve", "stop"]
                    plan = [
                        (chat, roles[i] if i < len(roles) else "plain")
                        for group in (chats[:tg_chats], chats[tg_chats:])
                        for i, chat in enumerate(group)
                    ]
                    load_sampler = Sampler()
                    load_sampler.start()
                    started = time.monotonic()
                    presses = await asyncio.gather(
                        *(drive(chat, args.prompts, role) for chat, role in plan)
                    )
                    note("load prompts sent")
                    await settle(chats, fake)
                    took = time.monotonic() - started
                    await load_sampler.stop()
                    load = account(chats, fake, [p for ps in presses for p in ps], load_sampler)
            limited = tg.count_429() + dc.rate_limited_total
            made = sum(
                (world.project / f"made-{c.name}.txt").exists() for c, r in plan if r == "approve"
            )
            approvers = sum(1 for _, r in plan if r == "approve")
    return report(args, base, load, limited, took, made, approvers)


def report(
    args: argparse.Namespace,
    base: Result,
    load: Result,
    limited: int,
    took: float,
    made: int,
    approvers: int,
) -> int:
    b_first, l_first = percentiles(first_outputs(base)), percentiles(first_outputs(load))
    b_wait, l_wait = percentiles(queue_waits(base)), percentiles(queue_waits(load))
    mb = 1024 * 1024
    print(
        f"Load: {args.chats} chats x {args.prompts} prompts, Telegram + Discord at once "
        "(fake Bot API with flood control, fake Discord, real CLI + FakeAnthropic)"
    )
    print(f"  prompts expecting an answer: {len(load.sent)}; all answered in {took:.1f} s")
    print(
        f"  lost {load.lost}   duplicated {load.duplicated}   429s {limited}   "
        f"chats out of order {load.out_of_order}   (goal: all 0)"
    )
    press = percentiles(load.approvals)[0] * 1000
    print(
        f"  approvals allowed from the chat: {made}/{approvers} files made; press -> {press:.0f} ms"
    )
    print("                                   single chat (baseline)     load            ratio")
    for name, one, many in (
        ("first visible output", b_first, l_first),
        ("queue wait", b_wait, l_wait),
    ):
        for label, i in (("p50", 0), ("p95", 1)):
            title = name if i == 0 else ""
            print(
                f"  {title:22s} {label}   {one[i]:8.2f} s              {many[i]:8.2f} s"
                f"     {many[i] / one[i]:6.2f}"
            )
    rows = (
        ("peak RSS, bot process (fakes included)", base.sampler.bot_peak, load.sampler.bot_peak),
        ("peak RSS, all Claude processes", base.sampler.claude_peak, load.sampler.claude_peak),
    )
    for title, one_rss, many_rss in rows:
        print(
            f"  {title:40s}{one_rss / mb:7.0f} MB        {many_rss / mb:7.0f} MB"
            f"   {many_rss / max(one_rss, 1):6.2f}"
        )
    print(
        f"  {'peak Claude processes alive':40s}{base.sampler.claude_count_peak:7d}"
        f"           {load.sampler.claude_count_peak:7d}      (cap BATON_MAX_LIVE_CLIENTS=4)"
    )
    ok = not (load.lost or load.duplicated or limited or load.out_of_order) and made == approvers
    ok = ok and load.sampler.claude_count_peak <= 4
    print("ok" if ok else "MISSED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--prompts", type=int, default=5)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
