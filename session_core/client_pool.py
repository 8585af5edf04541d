"""Live Claude CLI processes kept between turns, so a follow-up skips the start-up.

A CLI process costs ~0.35 s to start and ~200 MB to keep, so the pool keeps one per
recently active session, closes it after ``idle_timeout_s`` without a turn, and never
has more than ``max_live`` processes, running or idle: a new one first closes the least
recently used idle one, and when every slot runs a turn it waits in line (first come,
first served) for :meth:`ClientPool.reserve`. A client is either idle in the pool or out
with exactly one turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import structlog

log = structlog.get_logger(__name__)


class Closeable(Protocol):
    async def close(self) -> None: ...


C = TypeVar("C", bound=Closeable)


class ClientPool(Generic[C]):
    def __init__(
        self,
        *,
        idle_timeout_s: float,
        max_live: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_live < 1:
            raise ValueError(f"max_live must be at least 1, got {max_live}")
        if idle_timeout_s <= 0:
            raise ValueError(f"idle_timeout_s must be positive, got {idle_timeout_s}")
        self.idle_timeout_s = idle_timeout_s
        self.max_live = max_live
        self._clock = clock
        self._idle: OrderedDict[str, tuple[C, float]] = OrderedDict()  # LRU first
        """key -> (client, when it is closed if still idle)."""
        self._busy: dict[int, C] = {}
        self._reserved = 0
        self._waiters: deque[object] = deque()
        self._changed = asyncio.Condition()
        self._reaper: asyncio.Task[None] | None = None
        self._reaper_wake = asyncio.Event()  # a client with an earlier deadline came
        self._closed = False

    @property
    def live(self) -> int:
        """Processes running a turn, idle, or about to start (slots taken)."""
        return len(self._idle) + len(self._busy) + self._reserved

    def ahead_of(self, key: str | None) -> int | None:
        """How many turns a new one for ``key`` would wait behind for a slot; None if
        it would not wait (its idle client is reused, or there is room)."""
        if key is not None and key in self._idle:
            return None
        if not self._waiters and (self.live < self.max_live or self._idle):
            return None
        return len(self._waiters)

    async def reserve(self) -> None:
        """Take a slot for a new process: close the least recently used idle client if
        that makes room, else wait in line until a turn gives one back. The slot
        counts until :meth:`mark_busy` (or :meth:`unreserve`)."""
        me = object()
        self._waiters.append(me)
        try:
            async with self._changed:
                await self._changed.wait_for(
                    lambda: (
                        self._waiters[0] is me and (self.live < self.max_live or bool(self._idle))
                    )
                )
                self._waiters.popleft()
                self._reserved += 1
                self._changed.notify_all()
        except BaseException:
            if me in self._waiters:
                self._waiters.remove(me)
                await self._notify()
            raise
        if self.live > self.max_live:
            await self.make_room(reserved=True)

    async def unreserve(self) -> None:
        """Give back a slot from :meth:`reserve` that never became a process."""
        self._reserved = max(0, self._reserved - 1)
        await self._notify()

    def has_idle(self, key: str) -> bool:
        return key in self._idle

    def take(self, key: str) -> C | None:
        """The idle client for ``key``, now out with the caller; None if there is none."""
        entry = self._idle.pop(key, None)
        if entry is None:
            return None
        client = entry[0]
        self._busy[id(client)] = client
        return client

    async def make_room(self, *, reserved: bool = False) -> None:
        """Close least recently used idle clients until one more fits under the cap
        (``reserved``: until the slot already taken fits)."""
        limit = self.max_live + (1 if reserved else 0)
        while self._idle and self.live >= limit:
            key, (client, _) = self._idle.popitem(last=False)
            log.info("client_evicted", session_id=key, reason="cap", max_live=self.max_live)
            await _close_quietly(client)

    def mark_busy(self, client: C) -> None:
        """Count a freshly connected client (out with its first turn) in the slot
        :meth:`reserve` took for it."""
        self._reserved = max(0, self._reserved - 1)
        self._busy[id(client)] = client

    async def give_back(self, key: str, client: C, *, idle_timeout_s: float | None = None) -> None:
        """The turn is over: keep ``client`` idle under ``key`` (the session id), for
        ``idle_timeout_s`` (default: the pool's) unless a turn takes it first."""
        self._busy.pop(id(client), None)
        if self._closed:
            await _close_quietly(client)
            return
        previous = self._idle.pop(key, None)
        if previous is not None and previous[0] is not client:
            await _close_quietly(previous[0])
        keep = self.idle_timeout_s if idle_timeout_s is None else idle_timeout_s
        self._idle[key] = (client, self._clock() + keep)
        while len(self._idle) > 1 and self.live > self.max_live:
            old_key, (old, _) = self._idle.popitem(last=False)
            log.info("client_evicted", session_id=old_key, reason="cap", max_live=self.max_live)
            await _close_quietly(old)
        self._ensure_reaper()
        self._reaper_wake.set()
        await self._notify()

    async def discard(self, client: C) -> None:
        """Drop a client that is out (broken, or its session moved on) and close it."""
        self._busy.pop(id(client), None)
        await _close_quietly(client)
        await self._notify()

    async def aclose(self) -> None:
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        idle = [client for client, _ in self._idle.values()]
        self._idle.clear()
        await asyncio.gather(*(_close_quietly(c) for c in idle))

    async def reap(self) -> int:
        """Close every client idle for longer than the timeout; returns how many."""
        now = self._clock()
        expired = [k for k, (_, until) in self._idle.items() if now >= until]
        for key in expired:
            client, _ = self._idle.pop(key)
            log.info("client_evicted", session_id=key, reason="idle")
            await _close_quietly(client)
        return len(expired)

    async def _notify(self) -> None:
        """A slot may have come free: the first in line looks again."""
        async with self._changed:
            self._changed.notify_all()

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap_loop())

    async def _reap_loop(self) -> None:
        while self._idle:
            delay = min(until for _, until in self._idle.values()) - self._clock()
            self._reaper_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reaper_wake.wait(), max(0.01, delay))
            await self.reap()


async def _close_quietly(client: Closeable) -> None:
    try:
        await client.close()
    except Exception as exc:  # a dying CLI must not take the pool down
        log.warning("client_close_failed", error=str(exc))
