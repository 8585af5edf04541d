"""The per-chat outbox: paced, edits coalesced, sends first, 429s honoured, nothing lost."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_adapters.outbox import SUPERSEDED, Outbox, RateLimited
from tests.fakes.memory_surface import VirtualClock


class Chat:
    """Records what reached the 'app', and when."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.log: list[tuple[float, str]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    def op(self, label: str, result: Any = None) -> Callable[[], Awaitable[Any]]:
        async def run() -> Any:
            await self.gate.wait()
            self.log.append((self.clock(), label))
            return result if result is not None else label

        return run

    @property
    def labels(self) -> list[str]:
        return [label for _, label in self.log]


def setup(**kwargs: Any) -> tuple[Outbox, Chat, VirtualClock]:
    clock = VirtualClock()
    outbox = Outbox(clock=clock, sleep=clock.sleep, **kwargs)
    return outbox, Chat(clock), clock


async def test_operations_run_in_order_at_most_one_per_interval() -> None:
    outbox, chat, clock = setup(min_interval_s=1.0)
    sends = [asyncio.ensure_future(outbox.send(chat.op(f"s{i}"))) for i in range(4)]
    results = await clock.run(asyncio.gather(*sends))
    assert results == ["s0", "s1", "s2", "s3"]
    times = [t for t, _ in chat.log]
    assert times == [1000.0, 1001.0, 1002.0, 1003.0]


async def test_newest_edit_replaces_a_queued_one() -> None:
    outbox, chat, clock = setup()
    chat.gate.clear()  # the app is slow: the first edit is in flight
    first = asyncio.ensure_future(outbox.edit("m1", chat.op("v1")))
    await clock.advance(0)
    queued = [asyncio.ensure_future(outbox.edit("m1", chat.op(f"v{i}"))) for i in (2, 3, 4)]
    await clock.advance(0)
    chat.gate.set()
    applied = await clock.run(asyncio.gather(first, *queued))
    assert applied == [True, False, False, True]
    assert chat.labels == ["v1", "v4"]


async def test_sends_outrank_edits_and_deletes_come_last() -> None:
    outbox, chat, clock = setup()
    chat.gate.clear()
    blocker = asyncio.ensure_future(outbox.send(chat.op("blocker")))
    await clock.advance(0)
    ops = [
        asyncio.ensure_future(outbox.delete("m1", chat.op("delete m1"))),
        asyncio.ensure_future(outbox.edit("m1", chat.op("edit m1"))),
        asyncio.ensure_future(outbox.send(chat.op("send a"))),
        asyncio.ensure_future(outbox.edit("m2", chat.op("edit m2"))),
        asyncio.ensure_future(outbox.send(chat.op("send b"))),
    ]
    await clock.advance(0)
    chat.gate.set()
    await clock.run(asyncio.gather(blocker, *ops))
    assert chat.labels == ["blocker", "send a", "send b", "edit m1", "edit m2", "delete m1"]


async def test_a_final_edit_is_never_dropped() -> None:
    outbox, chat, clock = setup()
    chat.gate.clear()
    blocker = asyncio.ensure_future(outbox.send(chat.op("blocker")))
    await clock.advance(0)
    final = asyncio.ensure_future(outbox.edit("m1", chat.op("final"), final=True))
    await clock.advance(0)
    late = outbox.submit("edit", chat.op("late"), message="m1")
    late_future = await late
    chat.gate.set()
    assert await clock.run(final) is False  # superseded by the later content...
    assert await clock.run(late_future) == "late"
    assert chat.labels == ["blocker", "late"]  # ...which landed, carrying finality
    await clock.run(blocker)


async def test_rate_limit_requeues_and_waits_retry_after() -> None:
    outbox, chat, clock = setup(min_interval_s=1.0)
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RateLimited(7.0)
        chat.log.append((clock(), "sent"))
        return "ok"

    other = chat.op("other")
    result = asyncio.ensure_future(outbox.send(flaky))
    second = asyncio.ensure_future(outbox.send(other))
    assert await clock.run(result) == "ok"
    await clock.run(second)
    assert attempts == 2
    # The retried send keeps its place; everything waited out the 7 s.
    assert chat.log == [(1007.0, "sent"), (1008.0, "other")]


async def test_a_rate_limited_edit_gives_way_to_a_newer_one() -> None:
    outbox, chat, clock = setup()
    calls: list[str] = []

    async def limited() -> None:
        calls.append("old")
        raise RateLimited(3.0)

    old = asyncio.ensure_future(outbox.edit("m1", limited, final=True))
    await clock.advance(0)
    new = asyncio.ensure_future(outbox.edit("m1", chat.op("new")))
    assert await clock.run(old) is False
    assert await clock.run(new) is True
    assert calls == ["old"]
    assert chat.log == [(1003.0, "new")]


async def test_errors_reach_the_caller_and_the_queue_goes_on() -> None:
    outbox, chat, clock = setup()

    async def broken() -> None:
        raise ValueError("400 Bad Request: message is too long")

    failing = asyncio.ensure_future(outbox.send(broken))
    after = asyncio.ensure_future(outbox.send(chat.op("after")))
    with pytest.raises(ValueError, match="too long"):
        await clock.run(failing)
    assert await clock.run(after) == "after"


async def test_endless_rate_limits_give_up_with_the_error() -> None:
    outbox, _, clock = setup(max_rate_limit_retries=2)

    async def always_limited() -> None:
        raise RateLimited(1.0)

    with pytest.raises(RateLimited):
        await clock.run(outbox.send(always_limited))


async def test_a_full_outbox_makes_callers_wait_not_drop() -> None:
    outbox, chat, clock = setup(max_pending=2)
    chat.gate.clear()
    running = asyncio.ensure_future(outbox.send(chat.op("s0")))
    await clock.advance(0)
    first_edit = await outbox.submit("edit", chat.op("m v1"), message="m")
    queued = await outbox.submit("send", chat.op("s1"))
    waiting = asyncio.ensure_future(outbox.send(chat.op("s2")))
    await clock.advance(0)
    assert outbox.pending == 2
    assert not waiting.done(), "s2 waits for room; it is not dropped"
    # A newer edit of a queued message takes its place and needs no room.
    async with asyncio.timeout(5):
        second_edit = await outbox.submit("edit", chat.op("m v2"), message="m")
    assert await first_edit is SUPERSEDED
    chat.gate.set()
    await clock.run(asyncio.gather(running, queued, waiting, second_edit))
    assert chat.labels == ["s0", "s1", "s2", "m v2"]


async def test_a_withdrawn_operation_never_runs() -> None:
    outbox, chat, clock = setup()
    chat.gate.clear()
    blocker = asyncio.ensure_future(outbox.send(chat.op("blocker")))
    await clock.advance(0)
    withdrawn = await outbox.submit("send", chat.op("withdrawn"))
    withdrawn.cancel()
    chat.gate.set()
    await clock.run(blocker)
    await clock.run(outbox.drain())
    assert chat.labels == ["blocker"]


async def test_close_delivers_everything_then_refuses() -> None:
    outbox, chat, clock = setup()
    futures = [await outbox.submit("send", chat.op(f"s{i}")) for i in range(3)]
    futures.append(await outbox.submit("edit", chat.op("e"), message="m", final=True))
    await clock.run(outbox.aclose())
    assert chat.labels == ["s0", "s1", "s2", "e"]
    assert all(f.done() for f in futures)
    with pytest.raises(RuntimeError, match="closed"):
        await outbox.send(chat.op("late"))


async def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        Outbox(min_interval_s=-1)
    with pytest.raises(ValueError):
        Outbox(max_pending=0)
    outbox = Outbox()
    with pytest.raises(ValueError, match="needs the message"):
        await outbox.submit("edit", lambda: asyncio.sleep(0))
    with pytest.raises(ValueError, match="unknown"):
        await outbox.submit("pin", lambda: asyncio.sleep(0))  # type: ignore[arg-type]
    assert repr(SUPERSEDED) == "SUPERSEDED"


# -- property: any interleaving -------------------------------------------------------

step = st.one_of(
    st.tuples(st.just("send"), st.integers(0, 0)),
    st.tuples(st.just("edit"), st.integers(0, 3)),
    st.tuples(st.just("final"), st.integers(0, 3)),
    st.tuples(st.just("wait"), st.integers(0, 3)),
    st.tuples(st.just("limit"), st.integers(1, 5)),
)


@settings(max_examples=150, deadline=None)
@given(script=st.lists(step, max_size=40), interval=st.sampled_from([0.0, 0.5, 1.0]))
def test_any_interleaving_keeps_the_promises(
    script: list[tuple[str, int]], interval: float
) -> None:
    async def run() -> None:
        clock = VirtualClock()
        outbox = Outbox(min_interval_s=interval, clock=clock, sleep=clock.sleep)
        done: list[tuple[float, str, int, int]] = []  # (time, kind, message, version)
        rate_limits = [n for kind, n in script if kind == "limit"]
        counter = itertools.count()
        limited = 0

        def op(kind: str, message: int, version: int) -> Callable[[], Awaitable[None]]:
            async def run_op() -> None:
                nonlocal limited
                if rate_limits and limited < len(rate_limits) and next(counter) % 3 == 0:
                    limited += 1
                    raise RateLimited(rate_limits[limited - 1])
                done.append((clock(), kind, message, version))

            return run_op

        sends: list[int] = []
        last_edit: dict[int, int] = {}
        final_edit: set[int] = set()
        futures = []
        for version, (kind, n) in enumerate(script):
            if kind == "send":
                sends.append(version)
                futures.append(await outbox.submit("send", op("send", -1, version)))
            elif kind in ("edit", "final"):
                last_edit[n] = version
                if kind == "final":
                    final_edit.add(n)
                futures.append(
                    await outbox.submit(
                        "edit", op("edit", n, version), message=n, final=kind == "final"
                    )
                )
            elif kind == "wait":
                await clock.advance(n * 0.4)
        async with asyncio.timeout(30):
            await clock.run(outbox.aclose(), step=0.5)
        # Every send arrived once, in order.
        assert [v for _, kind, _, v in done if kind == "send"] == sends
        # The newest content of every message arrived; final ones included.
        for message, version in last_edit.items():
            versions = [v for _, kind, m, v in done if kind == "edit" and m == message]
            assert versions and versions[-1] == version
            assert versions == sorted(versions)
        assert final_edit <= set(last_edit)
        # Pacing held.
        times = [t for t, *_ in done]
        assert all(b - a >= interval - 1e-9 for a, b in itertools.pairwise(times))
        # Every caller got an answer.
        assert all(f.done() for f in futures)

    asyncio.run(run())


# --------------------------------------------------------------------------- send bursts


async def test_a_send_right_after_an_edit_is_not_held_back_when_a_burst_is_allowed() -> None:
    outbox, chat, clock = setup(min_interval_s=1.0, send_burst=4, send_window_s=5.5)
    await clock.run(outbox.edit("m1", chat.op("final edit")))
    await clock.advance(0.2)
    submitted = clock()
    await clock.run(outbox.send(chat.op("follow-up")))
    (edited, _), (sent, _) = chat.log
    assert sent == submitted and sent - edited < 0.5


async def test_without_a_burst_a_send_waits_for_the_pacing() -> None:
    outbox, chat, clock = setup(min_interval_s=1.0)
    await clock.run(outbox.edit("m1", chat.op("final edit")))
    await clock.advance(0.2)
    await clock.run(outbox.send(chat.op("follow-up")))
    (edited, _), (sent, _) = chat.log
    assert sent - edited >= 1.0


async def test_bursts_never_exceed_the_window_and_edits_stay_paced() -> None:
    outbox, chat, clock = setup(min_interval_s=1.0, send_burst=4, send_window_s=5.5)
    sends = [asyncio.ensure_future(outbox.send(chat.op(f"s{i}"))) for i in range(10)]
    edits = [asyncio.ensure_future(outbox.edit(f"m{i}", chat.op(f"e{i}"))) for i in range(3)]
    await clock.run(asyncio.gather(*sends, *edits))
    send_times = [t for t, label in chat.log if label.startswith("s")]
    assert send_times[:4] == [1000.0] * 4  # the burst
    for i, start in enumerate(send_times):
        assert sum(1 for t in send_times[i:] if t < start + 5.5) <= 4
    edit_times = [t for t, label in chat.log if label.startswith("e")]
    everything = sorted(t for t, _ in chat.log)
    for t in edit_times:  # an edit always waits a full interval after the previous start
        before = [u for u in everything if u < t]
        assert not before or t - max(before) >= 1.0 - 1e-9
