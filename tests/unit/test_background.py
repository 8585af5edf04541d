"""One owner of background work: it keeps what it spawned, survives failures, and at
shutdown waits a bounded time, then cancels what is left."""

from __future__ import annotations

import asyncio

from chat_adapters.background import BackgroundTasks


async def test_spawned_work_runs_and_is_let_go_when_done() -> None:
    owner = BackgroundTasks()
    done: list[int] = []

    async def work() -> None:
        done.append(1)

    task = owner.spawn(work(), name="work")
    assert len(owner) == 1
    await task
    await asyncio.sleep(0)
    assert done == [1] and len(owner) == 0


async def test_a_failure_is_kept_by_the_owner_not_raised_elsewhere() -> None:
    owner = BackgroundTasks()

    async def fail() -> None:
        raise RuntimeError("boom")

    owner.spawn(fail(), name="fail")
    assert await owner.drain(1.0) == 0


async def test_drain_waits_within_its_bound_then_cancels_the_rest() -> None:
    owner = BackgroundTasks()
    finished: list[str] = []
    cancelled: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        finished.append("quick")

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append("forever")
            raise

    owner.spawn(quick(), name="quick")
    owner.spawn(forever(), name="forever")
    async with asyncio.timeout(5):
        assert await owner.drain(0.2) == 1
    assert finished == ["quick"] and cancelled == ["forever"] and len(owner) == 0


async def test_work_spawned_while_draining_is_waited_for_too() -> None:
    owner = BackgroundTasks()
    finished: list[str] = []

    async def second() -> None:
        finished.append("second")

    async def first() -> None:
        await asyncio.sleep(0.01)
        owner.spawn(second(), name="second")

    owner.spawn(first(), name="first")
    assert await owner.drain(1.0) == 0
    assert finished == ["second"]


async def test_work_that_waits_for_a_person_is_cancelled_at_once_not_waited_for() -> None:
    """A picker nobody answers must not hold the bot's shutdown for the whole bound."""
    owner = BackgroundTasks()
    finished: list[str] = []

    async def picker() -> None:
        await asyncio.Event().wait()

    async def last_edit() -> None:
        await asyncio.sleep(0.05)
        finished.append("edit")

    waiting = owner.spawn(picker(), name="picker", until_close=True)
    owner.spawn(last_edit(), name="edit")
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await owner.drain(30.0) == 0
    assert loop.time() - started < 5.0
    assert waiting.cancelled() and finished == ["edit"] and len(owner) == 0
