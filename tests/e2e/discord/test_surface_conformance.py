"""The shared surface suite against the Discord surface, through the fake Discord.

Each check gets a fresh fake guild and a real discord.py client; the harness reads
the channel from the fake's side. The fake refuses what Discord would refuse (2000
characters, custom ids, component layout, late acknowledgements), so a check also
fails when the surface breaks a platform rule: ``violations`` must stay empty.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import discord
import pytest

from tests.conformance.surface_suite import CHECK_NAMES, SurfaceHarness, run_check
from tests.e2e.discord.harness import (
    DiscordHarness,
    connected_client,
    deferred_interaction,
    discord_errors,
)
from tests.fakes.discord_api import FakeDiscord


def channel_factory(
    monkeypatch: pytest.MonkeyPatch, *, thread: bool = False, command: bool = False
) -> Callable[[], AbstractAsyncContextManager[SurfaceHarness]]:
    @asynccontextmanager
    async def factory() -> AsyncIterator[SurfaceHarness]:
        with discord_errors() as errors:
            async with FakeDiscord() as dc, connected_client(dc, monkeypatch) as client:
                channel = client.get_channel(dc.channel_id())
                assert isinstance(channel, discord.TextChannel)
                probe = await deferred_interaction(dc, client) if command else None
                surface = client.surface(
                    channel, requester_id=dc.user_id(), interaction=probe[1] if probe else None
                )
                if thread:
                    surface, _ = await surface.open_thread("conformance")
                harness = DiscordHarness(dc, surface, surface.channel.id)
                yield harness
                if probe is not None and harness.bot_messages():
                    first = dc.original_response(probe[0])
                    assert first is not None and first.id == harness.bot_messages()[0].id, (
                        "a command's first message fills its deferred response"
                    )
                assert dc.violations == [], dc.violations
                assert dc.rate_limited_total == 0, dc.rate_limited
        assert errors.messages() == [], "discord.py logged errors"

    return factory


@pytest.mark.parametrize("check", CHECK_NAMES)
async def test_channel_surface_meets_the_contract(
    check: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run_check(check, channel_factory(monkeypatch))


@pytest.mark.parametrize(
    "check",
    [
        "send_text_splits_long_text_losing_nothing",
        "choice_returns_pressed_option",
        "streaming_reply_delivers_everything",
    ],
)
async def test_thread_surface_meets_the_contract(
    check: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run_check(check, channel_factory(monkeypatch, thread=True))


@pytest.mark.parametrize("check", CHECK_NAMES)
async def test_command_surface_meets_the_contract(
    check: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The surface of a deferred slash command: its first message fills "thinking…"
    (edited through the interaction token), the rest go to the channel."""
    await run_check(check, channel_factory(monkeypatch, command=True))
