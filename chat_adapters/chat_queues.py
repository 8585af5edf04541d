"""Per-chat ordering that never makes anyone else wait.

An app hands each incoming message to :class:`OrderedIntake` and returns at once: the
app's own update slots (PTB runs at most 64 handlers at a time) are never held by one
chat waiting its turn, so a flooding chat cannot delay a button press or a command in
another. Each lane (a chat's messages, a chat's commands) runs its work one item at a
time in arrival order, in a task that exists only while the lane has work.

The texts for a chat's bounded prompt queue live here too, so every app says the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

import structlog

log = structlog.get_logger(__name__)

Work = Callable[[], Awaitable[None]]


def queued_text(ahead: int) -> str:
    plural = "s" if ahead > 1 else ""
    return f"⏳ Queued: runs after {ahead} earlier message{plural}. /stop interrupts."


def queue_full_text(limit: int) -> str:
    return (
        f"⚠️ The queue is full ({limit} messages waiting): nothing was sent to Claude for "
        "this message, nor for any more you send before the queue drains. Send it again "
        "later, or /stop to clear the queue."
    )


class OrderedIntake:
    """Runs submitted work per lane, in order, in the background; see the module doc."""

    def __init__(self, name: str = "intake") -> None:
        self._name = name
        self._lanes: dict[Hashable, deque[Work]] = {}
        self._workers: dict[Hashable, asyncio.Task[None]] = {}

    def submit(self, lane: Hashable, work: Work) -> None:
        """Queue ``work`` behind the lane's earlier work; never waits."""
        self._lanes.setdefault(lane, deque()).append(work)
        if lane not in self._workers:
            task = asyncio.get_running_loop().create_task(
                self._drain(lane), name=f"{self._name}:{lane}"
            )
            self._workers[lane] = task

    @property
    def lanes(self) -> int:
        """Lanes with work now (idle lanes are dropped)."""
        return len(self._lanes)

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Let queued work finish (bounded), then cancel what is left."""
        workers = list(self._workers.values())
        if workers:
            _, pending = await asyncio.wait(workers, timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _drain(self, lane: Hashable) -> None:
        queue = self._lanes[lane]
        try:
            while queue:
                work = queue.popleft()
                try:
                    await work()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("intake_work_failed", intake=self._name)
        finally:
            self._lanes.pop(lane, None)
            self._workers.pop(lane, None)
            with contextlib.suppress(Exception):
                queue.clear()
