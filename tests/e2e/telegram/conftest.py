"""The whole bot as ``baton run`` builds it, against the fake Bot API and the real CLI.

``baton`` starts :func:`chat_adapters.app.serve` for Telegram only, with settings that
point at :class:`FakeTelegram` (``TELEGRAM_API_URL``) and at the isolated Claude world
of ``claude_env`` (whose CLI talks to FakeAnthropic). The test plays the user through
the fake server and reads the chat back from it. :class:`Baton` can be stopped and
started again on the same data (restart tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_adapters.app import serve
from chat_adapters.settings import Settings, load_settings
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.telegram_api import ChatMessage, FakeTelegram

USER = 4242
STRANGER = 6666
WAIT_S = 30.0
"""Bound on waiting for one answer (a CLI start-up included)."""


class Baton:
    """The product running in this event loop; :meth:`start` / :meth:`stop` at will."""

    def __init__(self, settings: Settings, tg: FakeTelegram) -> None:
        self.settings = settings
        self.tg = tg
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start and wait until it polls for updates."""
        mark = self.tg.mark()
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(serve(self.settings, ("telegram",), self._stopping))
        try:
            await self.tg.wait_for_call("getUpdates", since=mark, timeout=WAIT_S)
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


def bot_settings(
    tg: FakeTelegram, claude_env: ClaudeEnv, data_dir: Path, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_URL": tg.root_url,
        "BATON_ROOTS": str(claude_env.project),
        "BATON_DATA_DIR": str(data_dir),
        "CLAUDE_CONFIG_DIR": str(claude_env.config_dir),
        "BATON_ALLOWED_USERS": f"telegram:{USER}",
        "BATON_APPROVAL_TIMEOUT_S": 30,
    }
    return load_settings(**(values | overrides))


@pytest.fixture
def cli_env(claude_env: ClaudeEnv, monkeypatch: pytest.MonkeyPatch) -> ClaudeEnv:
    """The CLI env in this process too: the composition root passes only
    CLAUDE_CONFIG_DIR to the runner, and the SDK merges ``os.environ`` under it."""
    for name, value in claude_env.env.items():
        monkeypatch.setenv(name, value)
    return claude_env


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def baton(tg: FakeTelegram, cli_env: ClaudeEnv, tmp_path: Path) -> AsyncIterator[Baton]:
    running = Baton(bot_settings(tg, cli_env, tmp_path / "data"), tg)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def say(tg: FakeTelegram, text: str, *, user: int = USER) -> ChatMessage:
    """``user`` writes ``text`` in their private chat with the bot."""
    return tg.send_user_message(user, user, text)


async def answer(
    tg: FakeTelegram,
    contains: str,
    *,
    after: ChatMessage | int = 0,
    chat: int = USER,
    done: bool = True,
    timeout_s: float = WAIT_S,
) -> ChatMessage:
    """The bot's first message after ``after`` showing ``contains``; with ``done``, once
    it is final (its Stop button gone)."""
    after_id = after.message_id if isinstance(after, ChatMessage) else after

    def final(message: ChatMessage) -> bool:
        return not done or not any("Stop" in b.text for row in message.buttons for b in row)

    return await tg.wait_for_message(
        chat, contains=contains, after=after_id, match=final, timeout=timeout_s
    )


def bot_texts(tg: FakeTelegram, chat: int = USER) -> list[str]:
    return [m.body for m in tg.sent_messages(chat) if not m.deleted]
