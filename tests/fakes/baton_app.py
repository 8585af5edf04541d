"""The whole bot as ``baton run`` builds it, in the test's own event loop.

:class:`RunningBaton` runs :func:`chat_adapters.app.serve` until stopped, and can be
started again on the same data (restart tests); each app's suite says when its bot is
ready (Telegram: polling; Discord: gateway session up). :func:`baton_settings` points
the bot at the isolated Claude world of ``claude_env``; the app's fake server adds its
own values.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Self

from chat_adapters.app import serve
from chat_adapters.settings import Settings, load_settings
from session_core.turn_source import TurnSource
from session_core.vocabulary import AppName
from tests.fakes.claude_cli import ClaudeEnv

WAIT_S = 30.0
"""Bound on waiting for one answer (a CLI start-up included)."""


def baton_settings(claude_env: ClaudeEnv, data_dir: Path, values: Mapping[str, object]) -> Settings:
    """Settings over ``claude_env`` (its project the one root) with data in ``data_dir``;
    ``values`` (app tokens and URLs, allowed users, ...) add to and override these."""
    base: dict[str, object] = {
        "BATON_ROOTS": str(claude_env.project),
        "BATON_DATA_DIR": str(data_dir),
        "CLAUDE_CONFIG_DIR": str(claude_env.config_dir),
        "BATON_APPROVAL_TIMEOUT_S": 30,
        # The product streams private chats as drafts; the suites written for the
        # edited live message keep it, and the draft tests turn drafts on.
        "BATON_TELEGRAM_DRAFTS": False,
        # /new starts a spare Claude Code ahead of the first prompt; the suites that do
        # not test it keep their process count (the warm tests turn it on).
        "BATON_WARM_NEW_SESSIONS": False,
    }
    return load_settings(**(base | dict(values)))


class RunningBaton(ABC):
    """The product running in this event loop; :meth:`start` / :meth:`stop` at will,
    or ``async with`` for one run."""

    def __init__(
        self, settings: Settings, apps: tuple[AppName, ...], turns: TurnSource | None = None
    ) -> None:
        self.settings = settings
        self.apps = apps
        self.turns = turns
        """Scripted turns (``ScriptedRunner``) instead of the real CLI: the suites that
        test the app, not the session layer, run in milliseconds a turn."""
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @abstractmethod
    def until_ready(self) -> Awaitable[object]:
        """What :meth:`start` waits for. Called just before the bot starts, so a mark
        it takes of the fake server's log comes before anything the bot does."""

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start and wait until :meth:`until_ready`; if the bot stopped instead, raise
        what stopped it."""
        ready = self.until_ready()
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(
            serve(self.settings, self.apps, self._stopping, turns=self.turns)
        )
        try:
            await ready
        except TimeoutError:
            if self._task.done():
                self._task.result()  # raise what stopped it
            raise

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping.set()
        task, self._task = self._task, None
        async with asyncio.timeout(WAIT_S):
            await task

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
