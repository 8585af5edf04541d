"""SessionLocks: one turn per session, in arrival order; sessions independent."""

from __future__ import annotations

import asyncio

import pytest

from session_core.turn_locks import SessionLocks


async def test_turns_on_one_session_run_one_at_a_time_in_arrival_order() -> None:
    locks = SessionLocks()
    order: list[int] = []
    inside = 0

    async def turn(n: int) -> None:
        nonlocal inside
        ticket = locks.take_ticket("s")
        await ticket.wait()
        try:
            inside += 1
            assert inside == 1
            await asyncio.sleep(0.01)
            order.append(n)
            inside -= 1
        finally:
            ticket.release()

    async with asyncio.timeout(5):
        await asyncio.gather(*(turn(n) for n in range(6)))
    assert order == list(range(6))
    assert not locks.busy("s")


async def test_busy_tells_an_adapter_to_acknowledge() -> None:
    locks = SessionLocks()
    first = locks.take_ticket("s")
    second = locks.take_ticket("s")
    third = locks.take_ticket("s")
    assert locks.busy("s") and first.holding
    assert not second.holding and not third.holding
    assert not locks.busy("other")
    first.release()
    async with asyncio.timeout(1):
        await second.wait()
    assert locks.busy("s") and not third.holding
    second.release()
    third.release()
    assert not locks.busy("s")


async def test_sessions_do_not_wait_for_each_other() -> None:
    locks = SessionLocks()
    a = locks.take_ticket("a")
    b = locks.take_ticket("b")
    async with asyncio.timeout(1):
        await a.wait()
        await b.wait()
    assert locks.busy("a") and locks.busy("b")


async def test_a_cancelled_waiter_leaves_the_line_without_a_turn() -> None:
    locks = SessionLocks()
    head = locks.take_ticket("s")
    ran: list[str] = []

    async def turn(name: str) -> None:
        ticket = locks.take_ticket("s")
        await ticket.wait()
        ran.append(name)
        ticket.release()

    gave_up = asyncio.create_task(turn("gave up"))
    patient = asyncio.create_task(turn("patient"))
    await asyncio.sleep(0)
    gave_up.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gave_up
    head.release()
    async with asyncio.timeout(1):
        await patient
    assert ran == ["patient"]
    assert not locks.busy("s")


async def test_release_is_idempotent() -> None:
    locks = SessionLocks()
    one = locks.take_ticket("s")
    two = locks.take_ticket("s")
    three = locks.take_ticket("s")
    one.release()
    one.release()
    assert two.holding and not three.holding, "a second release must not skip a ticket"
    two.release()
    three.release()
    assert not locks.busy("s")
