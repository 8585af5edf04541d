"""The whole bot as ``baton run`` builds it, against the fake Discord and the real CLI.

:class:`Baton` starts :func:`chat_adapters.app.serve` with settings that point at
:class:`FakeDiscord` (``DISCORD_API_URL``, ``DISCORD_GATEWAY_URL``, ``DISCORD_GUILD_ID``)
and at the isolated Claude world of ``claude_env`` (whose CLI talks to FakeAnthropic).
The test plays the member through the fake and reads the channel back from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from chat_adapters.app import serve
from chat_adapters.settings import AppName, Settings, load_settings
from tests.e2e.discord.harness import ErrorLog, keep_endpoints
from tests.e2e.discord.harness import discord_errors as logged_errors
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import DispatchedInteraction, FakeDiscord, SentMessage
from tests.fakes.discord_limits import walk_components

WAIT_S = 30.0
"""Bound on waiting for one answer (a CLI start-up included)."""


class Baton:
    """The product running in this event loop until :meth:`stop`."""

    def __init__(
        self, settings: Settings, dc: FakeDiscord, apps: tuple[AppName, ...] = ("discord",)
    ) -> None:
        self.settings = settings
        self.dc = dc
        self.apps = apps
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """Start and wait until the bot's gateway session is up (commands synced)."""
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(serve(self.settings, self.apps, self._stopping))
        try:
            await self.dc.wait_until(
                lambda: (
                    self.dc.gateway_connected
                    and bool(self.dc.registered_commands(self.dc.guild_id))
                ),
                timeout=WAIT_S,
                what="the bot's gateway session",
            )
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
    dc: FakeDiscord, claude_env: ClaudeEnv, data_dir: Path, **extra: object
) -> Settings:
    values: dict[str, object] = {
        "DISCORD_BOT_TOKEN": dc.token,
        "DISCORD_API_URL": dc.api_url,
        "DISCORD_GATEWAY_URL": dc.gateway_url,
        "DISCORD_GUILD_ID": dc.guild_id,
        "BATON_ROOTS": str(claude_env.project),
        "BATON_DATA_DIR": str(data_dir),
        "CLAUDE_CONFIG_DIR": str(claude_env.config_dir),
        "BATON_ALLOWED_USERS": f"discord:{dc.user_id('alice')}",
        "BATON_APPROVAL_TIMEOUT_S": 30,
    }
    return load_settings(**{**values, **extra})


@pytest.fixture
def cli_env(claude_env: ClaudeEnv, monkeypatch: pytest.MonkeyPatch) -> ClaudeEnv:
    """The CLI env in this process too: the composition root passes only
    CLAUDE_CONFIG_DIR to the runner, and the SDK merges ``os.environ`` under it."""
    for name, value in claude_env.env.items():
        monkeypatch.setenv(name, value)
    return claude_env


@pytest.fixture
async def dc(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    keep_endpoints(monkeypatch)
    async with FakeDiscord() as fake:
        yield fake
        assert fake.violations == [], fake.violations


@pytest.fixture
def discord_errors() -> Iterator[ErrorLog]:
    """discord.py's ERROR logs (failed handlers, components) fail the test."""
    with logged_errors() as errors:
        yield errors
    assert errors.messages() == [], "discord.py logged errors"


@pytest.fixture
async def baton(
    dc: FakeDiscord, cli_env: ClaudeEnv, tmp_path: Path, discord_errors: ErrorLog
) -> AsyncIterator[Baton]:
    running = Baton(bot_settings(dc, cli_env, tmp_path / "data"), dc)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def has_stop(message: SentMessage) -> bool:
    return any(
        c.get("type") == 2 and c.get("label") == "Stop"
        for _, c in walk_components(message.components, "")
    )


def final(contains: str) -> Callable[[SentMessage], bool]:
    """A bot message showing ``contains`` whose Stop button is gone (the turn is over)."""
    return lambda m: contains in m.content and not has_stop(m)


async def answer_of(
    dc: FakeDiscord, interaction: DispatchedInteraction, *, timeout_s: float = WAIT_S
) -> SentMessage:
    """The command's answer: its deferred response once a follow-up filled it."""
    callback = await dc.wait_for_callback(interaction, timeout=5)
    assert callback.ok and callback.type == 5, callback
    assert callback.latency_s < 3

    def filled() -> bool:
        original = dc.original_response(interaction)
        return original is not None and not original.loading

    await dc.wait_until(filled, timeout=timeout_s, what="the deferred answer")
    original = dc.original_response(interaction)
    assert original is not None
    return original


def component_id(message: SentMessage, label: str) -> tuple[str, str | None]:
    """(custom_id, select value) of the button or select option labelled ``label``;
    prefix match, since session labels carry a relative time."""
    for _, component in walk_components(message.components, ""):
        if component.get("type") == 2 and str(component.get("label", "")).startswith(label):
            return str(component["custom_id"]), None
        if component.get("type") == 3:
            for option in component.get("options", []):
                if str(option["label"]).startswith(label):
                    return str(component["custom_id"]), str(option["value"])
    raise LookupError(f"no component labelled {label!r} in {message.components}")


async def choose(dc: FakeDiscord, message: SentMessage, label: str) -> DispatchedInteraction:
    custom_id, value = component_id(message, label)
    if value is None:
        return await dc.click_button(message, custom_id)
    return await dc.select(message, custom_id, [value])
