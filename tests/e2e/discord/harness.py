"""The person's side of a Discord channel, read from :class:`FakeDiscord`.

For the surface conformance suite: the surface talks to the fake through the real
discord.py client (:class:`BatonClient`, as the bot uses it), and the harness reads what
the fake holds (content after edits, buttons and select options, attachments) and acts
as a member (clicks, selects, typed messages). Clicks reach the surface the way they do
in the product: Discord's INTERACTION_CREATE, discord.py's dynamic items, the router.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import discord
import pytest
from discord import app_commands

from chat_adapters.discord.client import BatonClient, use_endpoints
from chat_adapters.discord.rendering import chat_of
from chat_adapters.discord.surface import DiscordSurface
from chat_adapters.interactions import Interactions
from chat_adapters.surface import surface_id_of
from tests.conformance.surface_suite import SeenMessage
from tests.fakes.discord_api import DispatchedInteraction, FakeDiscord, SentMessage
from tests.fakes.discord_limits import walk_components

WAIT_S = 10.0
BOT_MESSAGE_TYPES = (0, 19, 20)
"""Plain messages, replies and command responses (not thread notices)."""


def keep_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let monkeypatch restore discord.py's endpoints after the product changed them."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket,
        "DEFAULT_GATEWAY",
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
    )


class ErrorLog(logging.Handler):
    """discord.py logs (rather than raises) failures in event handlers and components."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]


@contextmanager
def discord_errors() -> Iterator[ErrorLog]:
    errors = ErrorLog()
    logger = logging.getLogger("discord")
    logger.addHandler(errors)
    try:
        yield errors
    finally:
        logger.removeHandler(errors)


@asynccontextmanager
async def connected_client(
    dc: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[BatonClient]:
    """A BatonClient logged in to ``dc`` whose typed messages answer open prompts."""
    keep_endpoints(monkeypatch)
    use_endpoints(dc.api_url, dc.gateway_url)

    async def typed(message: discord.Message) -> None:
        client.interactions.answer_typed(surface_id_of(chat_of(message.channel)), message.content)

    client = BatonClient(
        interactions=Interactions("discord"),
        on_user_message=typed,
        guild_id=dc.guild_id,
        guild_ready_timeout=0.05,
    )
    deferred: asyncio.Queue[discord.Interaction[Any]] = asyncio.Queue()

    @app_commands.command(name="probe", description="Defer, for a command-bound surface")
    async def probe(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(thinking=True)
        deferred.put_nowait(interaction)

    client.tree.add_command(probe, guild=client.command_guild)
    client.deferred = deferred  # type: ignore[attr-defined]
    task: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(WAIT_S):
            await client.login(dc.token)
            task = asyncio.create_task(client.connect(reconnect=True))
            await client.ready.wait()
        yield client
    finally:
        async with asyncio.timeout(WAIT_S):
            await client.close()
            if task is not None:
                await task


async def deferred_interaction(
    dc: FakeDiscord, client: BatonClient
) -> tuple[DispatchedInteraction, discord.Interaction[Any]]:
    """A ``/probe`` by the first member, deferred with "thinking…" as the bot does."""
    dispatched = await dc.dispatch_slash_command("probe")
    queue: asyncio.Queue[discord.Interaction[Any]] = client.deferred  # type: ignore[attr-defined]
    async with asyncio.timeout(WAIT_S):
        return dispatched, await queue.get()


def labels(message: SentMessage) -> tuple[str, ...]:
    """Enabled button labels and select option labels, in order."""
    found: list[str] = []
    for _, component in walk_components(message.components, ""):
        if component.get("type") == 2 and not component.get("disabled"):
            found.append(str(component.get("label", "")))
        elif component.get("type") == 3:
            found.extend(str(option["label"]) for option in component.get("options", []))
    return tuple(found)


class DiscordHarness:
    """One text channel of the fake guild and member :attr:`user_id` in it."""

    def __init__(self, dc: FakeDiscord, surface: DiscordSurface, channel_id: int) -> None:
        self.dc = dc
        self._surface = surface
        self.channel_id = channel_id
        self.user_id = dc.user_id()

    @property
    def surface(self) -> DiscordSurface:
        return self._surface

    @property
    def live_is_message(self) -> bool:
        return True

    def bot_messages(self) -> list[SentMessage]:
        """What the bot said: messages, replies and filled command responses (a
        "thinking…" placeholder is not something the bot said yet)."""
        return [
            m
            for m in self.dc.messages(self.channel_id)
            if m.author_id == self.dc.bot_user_id and m.type in BOT_MESSAGE_TYPES and not m.loading
        ]

    async def seen(self) -> list[SeenMessage]:
        seen = []
        for m in self.bot_messages():
            attachment = m.attachments[0] if m.attachments else None
            seen.append(
                SeenMessage(
                    str(m.id),
                    m.content,
                    labels(m),
                    attachment.filename if attachment else None,
                    attachment.data if attachment else None,
                )
            )
        return seen

    async def click(self, label: str) -> None:
        for message in reversed(self.bot_messages()):
            for _, component in walk_components(message.components, ""):
                if component.get("disabled"):
                    continue
                if component.get("type") == 2 and component.get("label") == label:
                    await self.dc.click_button(message, str(component["custom_id"]))
                    return
                if component.get("type") == 3:
                    for option in component.get("options", []):
                        if option["label"] == label:
                            await self.dc.select(
                                message, str(component["custom_id"]), [str(option["value"])]
                            )
                            return
        raise LookupError(f"no button or option labelled {label!r}")

    async def reply(self, text: str) -> None:
        await self.dc.send_user_message(self.channel_id, self.user_id, text)

    async def press_stop(self) -> bool:
        for message in reversed(self.bot_messages()):
            for _, component in walk_components(message.components, ""):
                if (
                    component.get("type") == 2
                    and component.get("label") == "Stop"
                    and not component.get("disabled")
                ):
                    await self.dc.click_button(message, str(component["custom_id"]))
                    return True
        return False
