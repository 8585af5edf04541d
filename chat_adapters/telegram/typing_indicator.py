""" "typing…" kept up while a reply is being written: a chat action shows for about
5 s, so it is sent again every few seconds for as long as anyone holds it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class TypingIndicator:
    """Counted holds: the first starts the loop, the last release stops it."""

    def __init__(self, show: Callable[[], Awaitable[None]], interval_s: float, name: str) -> None:
        self._show = show
        self._interval = interval_s
        self._name = name
        self._holders = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return bool(self._holders) or (self._task is not None and not self._task.done())

    def hold(self) -> None:
        self._holders += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._keep(), name=self._name)

    def release(self) -> None:
        self._holders = max(0, self._holders - 1)
        if not self._holders and self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        self._holders = 0
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _keep(self) -> None:
        while self._holders:
            await self._show()
            await asyncio.sleep(self._interval)
