"""One chat's queue of outgoing operations, paced to the app's rate limit.

Streaming a reply means many edits of one message; Telegram answers more than about
one operation per second per chat with 429 and a ``retry_after``. Instead of sleeping
in every caller, each chat gets an outbox: operations wait here, one runs at a time at
most every ``min_interval_s``, and while an edit waits a newer edit of the same message
replaces it (only the newest content matters). New messages go before edits, so a
reply never waits behind its own progress updates.

Where the app's limits allow a burst (Discord: 5 messages per 5 s per channel), new
messages may skip the pacing: up to ``send_burst`` sends in any ``send_window_s``
seconds go out as soon as they are queued, so a follow-up right after an answer is not
held back a second. Edits are always paced.

A rate-limit error puts the operation back and pauses the whole chat for the time the
app asked. Nothing is dropped except edits superseded by newer ones; a superseding edit
inherits ``final``, so the last content of a message always lands. Clock and sleep are
injected so tests run instantly.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeVar, cast

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")
OpKind: TypeAlias = Literal["send", "edit", "delete"]
Operation: TypeAlias = Callable[[], Awaitable[Any]]

_PRIORITY: dict[OpKind, int] = {"send": 0, "edit": 1, "delete": 2}


class RateLimited(Exception):
    """An app said "too many requests, retry after this many seconds"."""

    def __init__(self, retry_after: float, message: str = "") -> None:
        super().__init__(message or f"rate limited, retry after {retry_after} s")
        self.retry_after = retry_after


def retry_after_of(exc: BaseException) -> float | None:
    """The wait an error asks for, or None when it is not a rate limit."""
    return exc.retry_after if isinstance(exc, RateLimited) else None


class _Superseded:
    def __repr__(self) -> str:
        return "SUPERSEDED"


SUPERSEDED: Any = _Superseded()
"""The result of a queued edit that a newer edit of the same message replaced."""


@dataclass(eq=False, slots=True)
class _Op:
    kind: OpKind
    key: Hashable
    run: Operation
    future: asyncio.Future[Any]
    seq: int
    final: bool
    attempts: int = 0


class Outbox:
    """Pending operations of one chat keyed by (kind, message); see the module doc."""

    def __init__(
        self,
        *,
        min_interval_s: float = 1.0,
        max_pending: int = 256,
        max_rate_limit_retries: int = 8,
        send_burst: int = 0,
        send_window_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retry_after: Callable[[BaseException], float | None] = retry_after_of,
        name: str = "outbox",
    ) -> None:
        if not (math.isfinite(min_interval_s) and min_interval_s >= 0):
            raise ValueError(f"min_interval_s must be >= 0, got {min_interval_s!r}")
        if send_burst < 0 or not (math.isfinite(send_window_s) and send_window_s >= 0):
            raise ValueError("send_burst and send_window_s must be >= 0")
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self._interval = min_interval_s
        self._max_pending = max_pending
        self._max_retries = max_rate_limit_retries
        self._clock = clock
        self._sleep = sleep
        self._retry_after = retry_after
        self._name = name
        self._pending: dict[Hashable, _Op] = {}
        self._running: _Op | None = None
        self._seq = itertools.count()
        self._changed = asyncio.Condition()
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self._next_at = -math.inf
        self._blocked_until = -math.inf
        self._send_burst = send_burst
        self._send_window = send_window_s
        self._send_starts: deque[float] = deque()

    @property
    def pending(self) -> int:
        """Operations waiting (not counting the one running)."""
        return len(self._pending)

    @property
    def idle(self) -> bool:
        """Nothing waiting and nothing running."""
        return not self._pending and self._running is None

    @property
    def blocked_until(self) -> float:
        """Clock time before which a rate limit holds every operation back."""
        return self._blocked_until

    async def send(self, run: Callable[[], Awaitable[T]]) -> T:
        """Queue a new message and wait for it; returns what ``run`` returned."""
        future = await self.submit("send", run)
        return cast(T, await future)

    async def edit(self, message: Hashable, run: Operation, *, final: bool = False) -> bool:
        """Queue an edit of ``message`` and wait. False: a newer edit replaced it.

        ``final`` marks the message's last content, which is never dropped: a newer edit
        may still replace it while queued, and then carries ``final`` itself.
        """
        future = await self.submit("edit", run, message=message, final=final)
        return await future is not SUPERSEDED

    async def delete(self, message: Hashable, run: Operation) -> bool:
        """Queue a deletion of ``message`` (after its pending edits) and wait."""
        future = await self.submit("delete", run, message=message)
        return await future is not SUPERSEDED

    async def submit(
        self,
        kind: OpKind,
        run: Operation,
        *,
        message: Hashable | None = None,
        final: bool = False,
    ) -> asyncio.Future[Any]:
        """Queue without waiting for the result; waits only while the outbox is full.

        The future gives ``run``'s result, its exception, or :data:`SUPERSEDED`.
        Cancelling the future before the operation starts withdraws it.
        """
        if kind not in _PRIORITY:
            raise ValueError(f"unknown operation kind {kind!r}")
        if kind != "send" and message is None:
            raise ValueError(f"a {kind} needs the message it applies to")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        async with self._changed:
            self._check_open()
            key: Hashable = ("send", next(self._seq)) if kind == "send" else (kind, message)
            while key not in self._pending and len(self._pending) >= self._max_pending:
                await self._changed.wait()
                self._check_open()
            previous = self._pending.get(key)
            if previous is None:
                op = _Op(kind, key, run, future, next(self._seq), final)
            else:
                # Keep the replaced operation's place in the queue, and its finality.
                op = _Op(kind, key, run, future, previous.seq, final or previous.final)
                _resolve(previous.future, SUPERSEDED)
            self._pending[key] = op
            self._changed.notify_all()
        self._ensure_worker()
        return future

    async def drain(self) -> None:
        """Wait until nothing is queued or running."""
        async with self._changed:
            while self._pending or self._running is not None:
                await self._changed.wait()

    async def aclose(self) -> None:
        """Refuse new operations, deliver everything queued, stop the worker."""
        async with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._worker is not None:
            await self.drain()
            await self._worker
            self._worker = None

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{self._name} is closed")

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(
                self._work(), name=f"{self._name}-worker"
            )

    async def _work(self) -> None:
        try:
            while await self._wait_for_work():
                delay = self._ready_at() - self._clock()
                if delay > 0:
                    await self._sleep(delay)
                    continue
                op = await self._take_next()
                if op is not None:
                    await self._run(op)
        except Exception as exc:
            log.error("outbox_worker_failed", outbox=self._name, error=repr(exc))
            async with self._changed:
                self._closed = True
                self._running = None
                for op in self._pending.values():
                    _fail(op.future, exc)
                self._pending.clear()
                self._changed.notify_all()

    def _ready_at(self) -> float:
        """When the next operation may start: paced, or (a send) within the burst."""
        if not any(op.kind == "send" for op in self._pending.values()):
            return max(self._next_at, self._blocked_until)
        starts, now = self._send_starts, self._clock()
        while starts and starts[0] <= now - self._send_window:
            starts.popleft()
        if len(starts) < self._send_burst:
            return self._blocked_until
        window_open = starts[-self._send_burst] + self._send_window if self._send_burst else -1
        return max(self._next_at, self._blocked_until, window_open)

    async def _wait_for_work(self) -> bool:
        async with self._changed:
            while not self._pending:
                if self._closed:
                    return False
                await self._changed.wait()
            return True

    async def _take_next(self) -> _Op | None:
        async with self._changed:
            for op in [op for op in self._pending.values() if op.future.done()]:
                del self._pending[op.key]  # withdrawn by its caller
            self._changed.notify_all()
            if not self._pending:
                return None
            op = min(self._pending.values(), key=lambda o: (_PRIORITY[o.kind], o.seq))
            del self._pending[op.key]
            self._running = op
            return op

    async def _run(self, op: _Op) -> None:
        started = self._clock()
        if op.kind == "send":
            self._send_starts.append(started)
        try:
            result = await op.run()
        except Exception as exc:
            wait = self._retry_after(exc)
            if wait is not None and op.attempts < self._max_retries:
                op.attempts += 1
                self._blocked_until = max(self._blocked_until, self._clock() + max(0.0, wait))
                log.info("outbox_rate_limited", outbox=self._name, kind=op.kind, retry_after=wait)
                await self._requeue(op)
                return
            log.warning("outbox_operation_failed", outbox=self._name, kind=op.kind, error=repr(exc))
            _fail(op.future, exc)
        else:
            _resolve(op.future, result)
        finally:
            self._next_at = started + self._interval
            async with self._changed:
                self._running = None
                self._changed.notify_all()

    async def _requeue(self, op: _Op) -> None:
        async with self._changed:
            newer = self._pending.get(op.key)
            if newer is None:
                self._pending[op.key] = op  # keeps its seq: first in line again
            else:
                newer.final = newer.final or op.final
                _resolve(op.future, SUPERSEDED)


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
        # Marks the exception retrieved for submit() callers that never look;
        # send/edit/delete callers still get it when they await.
        future.add_done_callback(lambda f: f.exception())
