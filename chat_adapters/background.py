"""One owner for work that outlives the call that started it.

A last edit that must land after its caller was cancelled, a prompt settling its
message, a placeholder replaced when a command took too long: each is a task nobody
awaits. :class:`BackgroundTasks` keeps a strong reference to each (the event loop keeps
only a weak one), logs a failure instead of losing it, and at shutdown
:meth:`~BackgroundTasks.drain` waits a bounded time, then cancels what is left.
``serve()`` creates one and hands it to every app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")


class BackgroundTasks:
    """See the module doc."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._until_close: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(
        self, work: Coroutine[Any, Any, T], *, name: str, until_close: bool = False
    ) -> asyncio.Task[T]:
        """Run ``work`` as a task this owner keeps until it ends.

        ``until_close``: work that ends only when a person answers or the bot stops (a
        picker, a daily chore); :meth:`drain` cancels it at once instead of waiting.
        """
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        if until_close:
            self._until_close.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._until_close.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("background_task_failed", task=task.get_name(), error=repr(exc))

    async def drain(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for every task (new ones included), then cancel what
        is left; returns how many were cancelled."""
        for task in list(self._until_close):
            task.cancel()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._tasks and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)
        cancelled = list(self._tasks)
        for task in cancelled:
            task.cancel()
        if cancelled:
            await asyncio.wait(cancelled, timeout=1.0)
            log.warning("background_tasks_cancelled", count=len(cancelled))
        return len(cancelled)
