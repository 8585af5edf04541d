"""The whole bot as ``baton run`` builds it, against the fake Discord.

:class:`Baton` starts :func:`chat_adapters.app.serve` with settings that point at
:class:`FakeDiscord` (``DISCORD_API_URL``, ``DISCORD_GATEWAY_URL``, ``DISCORD_GUILD_ID``)
and at the isolated Claude world of ``claude_env``. The test plays the member through
the fake and reads the channel back from it.

Most tests are about the app, so they use ``scripted_baton``: turns come from the
``scripted_runner`` (no CLI, milliseconds a turn). ``baton`` runs the real CLI against
FakeAnthropic, for the few tests about the seam with Claude Code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from chat_adapters.settings import Settings
from session_core.events import TextDelta
from session_core.turn_source import TurnSource
from session_core.vocabulary import AppName
from tests.e2e.discord.harness import ErrorLog, keep_endpoints
from tests.e2e.discord.harness import discord_errors as logged_errors
from tests.fakes.baton_app import WAIT_S as WAIT_S  # re-exported for the suite
from tests.fakes.baton_app import RunningBaton, baton_settings
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import DispatchedInteraction, FakeDiscord, SentMessage
from tests.fakes.discord_limits import walk_components
from tests.fakes.scripted_runner import Pause, ScriptedRunner, ScriptedTurn, Step


class Baton(RunningBaton):
    """The bot (Discord alone unless ``apps`` says more), ready once its gateway
    session is up and its commands are synced."""

    def __init__(
        self,
        settings: Settings,
        dc: FakeDiscord,
        apps: tuple[AppName, ...] = ("discord",),
        turns: TurnSource | None = None,
    ) -> None:
        super().__init__(settings, apps, turns)
        self.dc = dc

    def until_ready(self) -> Awaitable[object]:
        return self.dc.wait_until(
            lambda: (
                self.dc.gateway_connected and bool(self.dc.registered_commands(self.dc.guild_id))
            ),
            timeout=WAIT_S,
            what="the bot's gateway session",
        )


def discord_values(dc: FakeDiscord) -> dict[str, object]:
    """The settings that point the bot at ``dc``."""
    return {
        "DISCORD_BOT_TOKEN": dc.token,
        "DISCORD_API_URL": dc.api_url,
        "DISCORD_GATEWAY_URL": dc.gateway_url,
        "DISCORD_GUILD_ID": dc.guild_id,
    }


def bot_settings(
    dc: FakeDiscord, claude_env: ClaudeEnv, data_dir: Path, **extra: object
) -> Settings:
    values = discord_values(dc) | {"BATON_ALLOWED_USERS": f"discord:{dc.user_id('alice')}"}
    return baton_settings(claude_env, data_dir, values | extra)


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
    async with Baton(bot_settings(dc, cli_env, tmp_path / "data"), dc) as running:
        yield running


@pytest.fixture
async def scripted_baton(
    dc: FakeDiscord,
    claude_env: ClaudeEnv,
    tmp_path: Path,
    discord_errors: ErrorLog,
    scripted_runner: ScriptedRunner,
) -> AsyncIterator[Baton]:
    """The bot over ``scripted_runner``: the app's behaviour without starting Claude Code."""
    settings = bot_settings(dc, claude_env, tmp_path / "data")
    async with Baton(settings, dc, turns=scripted_runner) as running:
        yield running


def streamed(text: str, chunks: int, delay_s: float = 0.0) -> ScriptedTurn:
    """``text`` in ``chunks`` deltas ``delay_s`` apart, as a model streams it."""
    size = -(-len(text) // chunks)
    steps: list[Step] = []
    for start in range(0, len(text), size):
        steps += [TextDelta(text[start : start + size]), Pause(delay_s)]
    return ScriptedTurn(tuple(steps))


def ticking(n: int, delay_s: float = 0.05, word: str = "tick ") -> ScriptedTurn:
    """``n`` deltas of ``word``, ``delay_s`` apart: a turn that takes its time."""
    return ScriptedTurn((TextDelta(word), Pause(delay_s)) * n)


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
