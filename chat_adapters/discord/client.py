"""discord.py's client, wired the way the bot needs it, with no command logic.

What lives here is what every use of the client shares (the bot, and the surface
conformance tests): the intents (message content, so messages in a session's thread
reach Claude; slash commands work without it), mentions off by default, the
interactions registry that persistent buttons find through ``interactions``, one
outbox per channel, and a command tree synced in ``setup_hook``, before the gateway connects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import discord
import discord.gateway
import discord.http
import structlog
import yarl
from discord import app_commands

from chat_adapters.background import BackgroundTasks
from chat_adapters.discord.components import DYNAMIC_ITEMS
from chat_adapters.discord.outboxes import Outboxes
from chat_adapters.discord.rendering import NO_MENTIONS
from chat_adapters.discord.surface import DiscordSurface, MessageChannel
from chat_adapters.interactions import Interactions

log = structlog.get_logger(__name__)

MessageHandler = Callable[[discord.Message], Awaitable[None]]

GUILD_READY_TIMEOUT_S = 2.0
"""discord.py's default wait after the last GUILD_CREATE before "ready". Nothing the bot
does waits for "ready" (interactions and messages are handled as they come), so only
tests that wait for it pass less."""


class BatonClient(discord.Client):
    """See the module doc. ``on_user_message`` gets every message not sent by a bot."""

    def __init__(
        self,
        *,
        interactions: Interactions,
        on_user_message: MessageHandler,
        guild_id: int | None = None,
        guild_ready_timeout: float = GUILD_READY_TIMEOUT_S,
        message_content: bool = True,
        notify_after_s: float | None = None,
        background: BackgroundTasks | None = None,
    ) -> None:
        self.notify_after_s = notify_after_s
        intents = discord.Intents.default()
        intents.message_content = message_content
        super().__init__(
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            guild_ready_timeout=guild_ready_timeout,
        )
        self.interactions = interactions
        """Found by the persistent components (see ``components.interactions_of``)."""
        self.background = background if background is not None else BackgroundTasks()
        self.outboxes = Outboxes()
        self.tree: app_commands.CommandTree[BatonClient] = app_commands.CommandTree(self)
        self.guild_id = guild_id
        self.ready = asyncio.Event()
        self._on_user_message = on_user_message

    def surface(
        self,
        channel: MessageChannel,
        *,
        requester_id: int | None = None,
        interaction: discord.Interaction[Any] | None = None,
    ) -> DiscordSurface:
        return DiscordSurface(
            channel,
            interactions=self.interactions,
            outboxes=self.outboxes,
            background=self.background,
            requester_id=requester_id,
            interaction=interaction,
            notify_after_s=self.notify_after_s,
        )

    async def setup_hook(self) -> None:
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        synced = await self.tree.sync(guild=self.command_guild)
        log.info("discord.commands_synced", count=len(synced), guild=self.guild_id)

    @property
    def command_guild(self) -> discord.Object | None:
        """Where commands live: one guild (shown at once) or global (may take a while)."""
        return discord.Object(self.guild_id) if self.guild_id is not None else None

    async def on_ready(self) -> None:
        self.ready.set()
        user = self.user
        log.info("discord.ready", user_id=user.id if user else None, guilds=len(self.guilds))

    async def on_resumed(self) -> None:
        log.info("discord.resumed")

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None:
            return
        await self._on_user_message(message)

    async def drain(self) -> None:
        """Wait for every channel's queued sends and edits (callers bound the wait)."""
        await self.outboxes.drain()


def use_endpoints(api_url: str, gateway_url: str) -> None:
    """Point discord.py at ``DISCORD_API_URL`` / ``DISCORD_GATEWAY_URL``.

    discord.py has no per-client setting for these: every REST call (interaction
    callbacks and follow-ups included) is built on ``Route.BASE``, and a plain client
    connects to ``DiscordWebSocket.DEFAULT_GATEWAY``. One process runs one Discord
    client, so setting the class attributes is enough.
    """
    discord.http.Route.BASE = api_url.rstrip("/") + "/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
