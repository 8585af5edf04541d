"""OrderedIntake (issue 10, finding 2): a lane runs its work in order, the caller never
waits, one lane's slow work holds up no other lane, and idle lanes leave nothing."""

from __future__ import annotations

import asyncio

from chat_adapters.chat_queues import OrderedIntake, queue_full_text


async def test_work_runs_in_order_per_lane_without_the_caller_waiting() -> None:
    intake = OrderedIntake()
    done: list[tuple[str, int]] = []
    gate = asyncio.Event()

    def job(lane: str, n: int, wait: bool = False):  # type: ignore[no-untyped-def]
        async def run() -> None:
            if wait:
                await gate.wait()
            done.append((lane, n))

        return run

    intake.submit("slow", job("slow", 0, wait=True))
    for n in range(1, 50):
        intake.submit("slow", job("slow", n))
    intake.submit("other", job("other", 0))
    async with asyncio.timeout(2):
        while ("other", 0) not in done:
            await asyncio.sleep(0.01)
    assert not [d for d in done if d[0] == "slow"], "the slow lane is held by its first item"
    gate.set()
    async with asyncio.timeout(2):
        while len(done) < 51:
            await asyncio.sleep(0.01)
    assert [n for lane, n in done if lane == "slow"] == list(range(50))
    assert intake.lanes == 0
    await intake.aclose()


async def test_a_failing_item_does_not_stop_its_lane() -> None:
    intake = OrderedIntake()
    done: list[int] = []

    async def boom() -> None:
        raise RuntimeError("boom")

    async def ok() -> None:
        done.append(1)

    intake.submit("a", boom)
    intake.submit("a", ok)
    await intake.aclose(timeout_s=2)
    assert done == [1]


def test_the_full_queue_reply_says_nothing_was_sent() -> None:
    text = queue_full_text(20)
    assert "queue is full" in text and "nothing was sent" in text and "/stop" in text
