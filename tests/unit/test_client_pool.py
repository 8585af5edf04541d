"""ClientPool: idle timeout, a cap with least-recently-used eviction, clean close."""

from __future__ import annotations

import asyncio

import pytest

from session_core.client_pool import ClientPool


class Client:
    """Stands in for a live CLI connection: all the pool needs is ``close``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False
        self.closing = asyncio.Event()

    async def close(self) -> None:
        self.closed = True
        self.closing.set()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_client_given_back_is_taken_again_once() -> None:
    pool: ClientPool[Client] = ClientPool(idle_timeout_s=60, max_live=2)
    client = Client("a")
    pool.mark_busy(client)
    await pool.give_back("a", client)
    assert pool.take("a") is client
    assert pool.take("a") is None, "out with one turn at a time"
    assert pool.live == 1
    await pool.aclose()


async def test_over_the_cap_the_least_recently_used_idle_client_goes() -> None:
    clock = Clock()
    pool: ClientPool[Client] = ClientPool(idle_timeout_s=600, max_live=2, clock=clock)
    a, b, c = Client("a"), Client("b"), Client("c")
    for name, client in (("a", a), ("b", b)):
        pool.mark_busy(client)
        clock.now += 1
        await pool.give_back(name, client)
    taken = pool.take("a")  # a is used again, so b is now the least recent
    assert taken is a
    clock.now += 1
    await pool.give_back("a", a)
    await pool.make_room()
    assert b.closed and not a.closed
    pool.mark_busy(c)
    await pool.give_back("c", c)
    assert pool.live == 2 and not (a.closed or c.closed)
    await pool.aclose()
    assert a.closed and c.closed


async def test_busy_clients_are_never_evicted() -> None:
    pool: ClientPool[Client] = ClientPool(idle_timeout_s=600, max_live=1)
    busy, other = Client("busy"), Client("other")
    pool.mark_busy(busy)
    pool.mark_busy(other)
    await pool.make_room()
    await pool.give_back("other", other)
    assert not busy.closed
    assert pool.live == 2, "over the cap while both turns run; the idle one stays until needed"
    await pool.make_room()
    assert other.closed and not busy.closed
    await pool.discard(busy)
    assert busy.closed and pool.live == 0


async def test_idle_clients_are_closed_after_the_timeout() -> None:
    clock = Clock()
    pool: ClientPool[Client] = ClientPool(idle_timeout_s=10, max_live=4, clock=clock)
    old, fresh = Client("old"), Client("fresh")
    pool.mark_busy(old)
    await pool.give_back("old", old)
    clock.now = 8
    pool.mark_busy(fresh)
    await pool.give_back("fresh", fresh)
    clock.now = 10
    assert await pool.reap() == 1
    assert old.closed and not fresh.closed
    assert pool.live == 1
    await pool.aclose()


async def test_the_reaper_runs_on_its_own() -> None:
    pool: ClientPool[Client] = ClientPool(idle_timeout_s=0.05, max_live=4)
    client = Client("a")
    pool.mark_busy(client)
    await pool.give_back("a", client)
    async with asyncio.timeout(5):
        await client.closing.wait()
    assert pool.live == 0
    await pool.aclose()


async def test_after_close_a_returned_client_is_closed_not_kept() -> None:
    pool: ClientPool[Client] = ClientPool(idle_timeout_s=60, max_live=2)
    client = Client("a")
    pool.mark_busy(client)
    await pool.aclose()
    await pool.give_back("a", client)
    assert client.closed and pool.live == 0


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_live"):
        ClientPool[Client](idle_timeout_s=1, max_live=0)
    with pytest.raises(ValueError, match="idle_timeout_s"):
        ClientPool[Client](idle_timeout_s=0, max_live=1)


async def test_over_the_cap_new_processes_wait_in_line_for_a_slot() -> None:
    """Running clients count too: with every slot running a turn, a new one waits, first
    come first served, and takes the slot of the first client given back (closing it)."""
    pool: ClientPool[Client] = ClientPool(idle_timeout_s=60, max_live=1)
    await pool.reserve()
    running = Client("running")
    pool.mark_busy(running)
    assert pool.ahead_of("other") == 0 and pool.ahead_of(None) == 0
    order: list[str] = []

    async def start(name: str) -> None:
        await pool.reserve()
        order.append(name)

    first = asyncio.create_task(start("first"))
    await asyncio.sleep(0)
    second = asyncio.create_task(start("second"))
    await asyncio.sleep(0.01)
    assert pool.ahead_of(None) == 2 and order == []
    await pool.give_back("running", running)
    await asyncio.wait_for(first, 1)
    assert running.closed, "the idle client made room"
    assert order == ["first"] and pool.live == 1 and not second.done()
    await pool.unreserve()  # "first" never started a process
    await asyncio.wait_for(second, 1)
    assert order == ["first", "second"] and pool.live == 1
    await pool.aclose()


async def test_a_waiter_that_gives_up_leaves_the_line() -> None:
    pool: ClientPool[Client] = ClientPool(idle_timeout_s=60, max_live=1)
    await pool.reserve()
    waiting = asyncio.create_task(pool.reserve())
    await asyncio.sleep(0.01)
    assert pool.ahead_of(None) == 1
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert pool.ahead_of(None) == 0
    await pool.unreserve()
    assert pool.ahead_of(None) is None and pool.live == 0
    await pool.aclose()


async def test_a_session_with_an_idle_client_never_waits() -> None:
    pool: ClientPool[Client] = ClientPool(idle_timeout_s=60, max_live=1)
    client = Client("a")
    await pool.reserve()
    pool.mark_busy(client)
    await pool.give_back("a", client)
    assert pool.ahead_of("a") is None
    assert pool.ahead_of("b") is None, "an idle client can be closed to make room"
    await pool.aclose()


async def test_a_client_kept_for_less_than_the_pool_timeout_goes_sooner() -> None:
    clock = Clock()
    pool: ClientPool[Client] = ClientPool(idle_timeout_s=600, max_live=4, clock=clock)
    session, spare = Client("session"), Client("spare")
    for name, client, keep in (("session", session, None), ("spare", spare, 120.0)):
        pool.mark_busy(client)
        await pool.give_back(name, client, idle_timeout_s=keep)
    clock.now = 119
    assert await pool.reap() == 0
    clock.now = 120
    assert await pool.reap() == 1
    assert spare.closed and not session.closed
    await pool.aclose()


async def test_the_reaper_wakes_for_a_shorter_deadline_given_later() -> None:
    pool: ClientPool[Client] = ClientPool(idle_timeout_s=600, max_live=4)
    long, short = Client("long"), Client("short")
    pool.mark_busy(long)
    await pool.give_back("long", long)  # the reaper now sleeps for ten minutes
    await asyncio.sleep(0.02)
    pool.mark_busy(short)
    await pool.give_back("short", short, idle_timeout_s=0.05)
    async with asyncio.timeout(2):
        await short.closing.wait()
    assert not long.closed
    await pool.aclose()
