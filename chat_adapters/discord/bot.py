"""The Discord app: slash commands, messages and clicks in; the shared dispatcher does the rest.

Slash commands are declared from the single command list (:mod:`chat_adapters.commands`):
each becomes an ``app_commands.Command`` with typed string options, its choices, and
autocomplete from the dispatcher for sessions and directories. They sync to
``DISCORD_GUILD_ID`` when given (visible at once), else globally.

Every interaction is answered inside Discord's 3 seconds: authorization first (a
refusal is an ephemeral message only the person sees, and nothing reaches Claude),
then ``defer(thinking=True)``; the command's surface sends its first message as the
deferred follow-up. A plain message is a prompt only where it is addressed to the bot
(:func:`addressed_to_bot`): in a thread the bot opened for a session, in a DM, or when it
mentions the bot; anything else in a channel is people talking, ignored without a reply
or an audit row. Thread and DM text needs the privileged message-content intent, without
which mentions and ``/ask`` still work. A message in a chat with an open free-text
question answers the question instead.

:func:`run_discord` runs in the shared event loop: login, then the gateway in a task
(discord.py reconnects and RESUMEs by itself), until ``stopping`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import discord
import structlog
from discord import app_commands

from chat_adapters.background import BackgroundTasks
from chat_adapters.chat_input import Attachment, Sender
from chat_adapters.commands import CommandSpec, Completion, commands_for
from chat_adapters.discord.client import BatonClient, use_endpoints
from chat_adapters.discord.rendering import chat_of
from chat_adapters.discord.slash_commands import autocomplete_choices, build_command
from chat_adapters.discord.surface import DiscordSurface, MessageChannel
from chat_adapters.discord.voice_clips import audio_clip, split_audio
from chat_adapters.dispatch import ChatDispatcher
from chat_adapters.interactions import TYPED_ANSWER, Interactions, press_check
from chat_adapters.message_intake import Fetched, IncomingMessage, take_message
from chat_adapters.recent_keys import PEOPLE_REMEMBERED, RecentKeys
from chat_adapters.recovery import recover_prompts
from chat_adapters.surface import surface_id_of
from chat_adapters.voice import VoicePrompts
from storage import InboundPrompt
from storage.preferences import ChatKey

log = structlog.get_logger(__name__)

APP: Literal["discord"] = "discord"
AUTHORIZE_TIMEOUT_S = 2.0
"""Authorization must leave time to answer within Discord's 3 seconds."""
COMPLETE_TIMEOUT_S = 2.5
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
LOGIN_TIMEOUT_S = 30.0
SHUTDOWN_S = 10.0
MESSAGE_TYPES = (discord.MessageType.default, discord.MessageType.reply)


@dataclass(frozen=True)
class DiscordConfig:
    token: str = field(repr=False)
    api_url: str = "https://discord.com/api"
    gateway_url: str = "wss://gateway.discord.gg"
    guild_id: int | None = None
    voice: VoicePrompts = field(default_factory=lambda: VoicePrompts(None), repr=False)
    """Turns voice messages and audio into prompts (or says how to enable it)."""
    notify_after_s: float | None = None
    """A turn longer than this ends with a new message mentioning the asker."""


def sender_of(user: discord.User | discord.Member) -> Sender:
    return Sender(
        app=APP,
        user_id=str(user.id),
        display_name=user.display_name,
        mention=user.mention,
    )


class DiscordBot:
    """The client plus the translation of Discord events into dispatcher calls."""

    def __init__(
        self,
        dispatcher: ChatDispatcher,
        config: DiscordConfig,
        background: BackgroundTasks | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.config = config
        self.background = background if background is not None else BackgroundTasks()
        self.interactions = Interactions(
            APP, dispatcher.db.pending, gate=press_check(dispatcher.presses, APP)
        )
        self.client = self._new_client(message_content=True)
        self._refused = RecentKeys(PEOPLE_REMEMBERED)

    def _new_client(self, *, message_content: bool) -> BatonClient:
        client = BatonClient(
            interactions=self.interactions,
            background=self.background,
            on_user_message=self._on_message,
            guild_id=self.config.guild_id,
            message_content=message_content,
            notify_after_s=self.config.notify_after_s,
        )
        for spec in commands_for(APP):
            client.tree.add_command(
                build_command(spec, self._on_command, self._complete),
                guild=client.command_guild,
            )
        client.tree.error(self._on_tree_error)
        return client

    # -- running ----------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Connect and stay connected until ``stopping``.

        When the message-content intent is not enabled for the application (Discord
        closes the gateway with 4014), the bot connects again without it: slash
        commands and buttons keep working, plain messages only when they mention it.
        """
        try:
            await self._run_client(stopping)
        except discord.PrivilegedIntentsRequired:
            log.warning(
                "discord.message_content_intent_disabled",
                hint="enable MESSAGE CONTENT INTENT for the bot in the Developer Portal; "
                "until then use /ask or mention the bot",
            )
            self.client = self._new_client(message_content=False)
            await self._run_client(stopping)

    async def _run_client(self, stopping: asyncio.Event) -> None:
        client = self.client
        connect: asyncio.Task[None] | None = None
        recovery: asyncio.Task[int] | None = None
        stop = asyncio.create_task(stopping.wait(), name="discord-stopping")
        try:
            async with asyncio.timeout(LOGIN_TIMEOUT_S):
                await client.login(self.config.token)
            connect = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
            recovery = asyncio.create_task(self._recover(client), name="discord-recovery")
            await asyncio.wait({connect, stop}, return_when=asyncio.FIRST_COMPLETED)
            if connect.done():
                connect.result()  # a fatal gateway error (refused intent, token reset...)
                raise RuntimeError("the Discord gateway connection ended")
        finally:
            stop.cancel()
            if recovery is not None:
                recovery.cancel()
            await self._shutdown(connect)

    async def _recover(self, client: BatonClient) -> int:
        """Once the gateway is ready: prompts a crash left unfinished run again."""
        await client.ready.wait()

        async def surface_for(prompt: InboundPrompt) -> DiscordSurface | None:
            key = prompt.chat
            channel_id = int(key.thread_id or key.chat_id)
            channel = client.get_channel(channel_id)
            if channel is None:
                try:
                    channel = await client.fetch_channel(channel_id)
                except discord.HTTPException:
                    return None
            if not hasattr(channel, "send"):
                return None
            return self._surface(channel, int(prompt.user_id))

        return await recover_prompts(self.dispatcher, APP, surface_for)

    async def _shutdown(self, connect: asyncio.Task[None] | None) -> None:
        """Deliver queued messages, then close; every step bounded."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_S / 2):
                await self.client.drain()
        try:
            async with asyncio.timeout(SHUTDOWN_S):
                await self.client.close()
                if connect is not None:
                    await asyncio.wait({connect})
        except TimeoutError:
            log.warning("discord.close_timed_out")
        if connect is not None and not connect.done():
            connect.cancel()
            await asyncio.wait({connect}, timeout=1.0)
        log.info("discord.stopped")

    # -- authorization ---------------------------------------------------------------

    async def _authorize(self, sender: Sender, chat: ChatKey, action: str) -> bool:
        try:
            async with asyncio.timeout(AUTHORIZE_TIMEOUT_S):
                return await self.dispatcher.authorize(sender, chat, action)
        except TimeoutError:
            log.error("discord.authorize_timed_out", action=action)
            return False

    async def _gate(self, interaction: discord.Interaction[Any], action: str) -> bool:
        """Authorize an interaction; a refusal is answered ephemerally, here. (Button
        presses go through the interactions registry's press gate.)"""
        sender, chat = sender_of(interaction.user), chat_of(interaction.channel)
        if await self._authorize(sender, chat, action):
            return True
        if not interaction.response.is_done():
            await interaction.response.send_message(self.dispatcher.refusal_text, ephemeral=True)
        return False

    # -- slash commands -----------------------------------------------------------------

    async def _on_command(
        self, interaction: discord.Interaction[Any], spec: CommandSpec, options: dict[str, Any]
    ) -> None:
        values = [options.get(option.name) for option in spec.options]
        args = " ".join(str(v).strip() for v in values if v is not None and str(v).strip())
        if not await self._gate(interaction, f"/{spec.name}"):
            return
        await interaction.response.defer(thinking=True)
        channel = interaction.channel
        if channel is None or not hasattr(channel, "send"):
            await interaction.followup.send("This command cannot run here.")
            return
        surface = self._surface(channel, interaction.user.id, interaction=interaction)
        sender, chat = sender_of(interaction.user), chat_of(channel)
        if spec.name == "ask":
            if self.interactions.answer_typed(surface_id_of(chat), args):
                await surface.send_text(TYPED_ANSWER)
                return
            await self.dispatcher.on_text(surface, chat, sender, args, (), str(interaction.id))
            return
        await self.dispatcher.on_command(surface, chat, sender, spec.name, args)

    async def _complete(
        self, interaction: discord.Interaction[Any], option: Completion, current: str
    ) -> list[app_commands.Choice[str]]:
        """Choices while the person types. Checked with ``is_allowed``, not ``authorize``:
        every keystroke asks, and an audit row per keystroke would bury the real ones; a
        stranger gets no choices (and their command itself is refused and audited)."""
        sender, chat = sender_of(interaction.user), chat_of(interaction.channel)
        if not self.dispatcher.is_allowed(sender):
            return []
        try:
            async with asyncio.timeout(COMPLETE_TIMEOUT_S):
                found = await self.dispatcher.complete(chat, option, current)
        except TimeoutError:
            log.warning("discord.autocomplete_timed_out", option=option)
            return []
        return autocomplete_choices(found)

    async def _on_tree_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        log.error("discord.command_failed", error=repr(error.__cause__ or error))
        text = "❌ Something went wrong handling that command; it was logged."
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)

    # -- messages -------------------------------------------------------------------------

    async def _on_message(self, message: discord.Message) -> None:
        if message.type not in MESSAGE_TYPES:
            return
        bot_id = self.client.user.id if self.client.user is not None else None
        waiting = self.interactions.waiting_for_text(surface_id_of(chat_of(message.channel)))
        if not (waiting or addressed_to_bot(message, bot_id)):
            return
        text = self._without_bot_mention(message.content)
        unusable = "sticker" if message.stickers else "poll" if message.poll else None
        if not text.strip() and not message.attachments and unusable is None:
            return  # without the message-content intent, text arrives empty
        channel = message.channel
        sender, chat = sender_of(message.author), chat_of(channel)
        if not await self._authorize(sender, chat, "message"):
            await self._refuse_once(message)
            return
        audio, others = split_audio(message.attachments)
        incoming = IncomingMessage(
            self._surface(channel, message.author.id),
            chat,
            sender,
            text,
            str(message.id),
            audio=[audio_clip(item) for item in audio],
            fetch_files=lambda: fetch_attachments(others),
            has_files=bool(others),
            unusable=unusable if not text.strip() and not message.attachments else None,
        )
        await take_message(incoming, self.dispatcher, self.interactions, self.config.voice)

    def _without_bot_mention(self, content: str) -> str:
        user = self.client.user
        if user is None:
            return content
        return re.sub(rf"^\s*<@!?{user.id}>\s*", "", content)

    async def _refuse_once(self, message: discord.Message) -> None:
        """One reply per person: someone chatting next to the bot is not spammed."""
        if not self._refused.first(message.author.id):
            return

        async def reply() -> None:
            await message.reply(self.dispatcher.refusal_text, mention_author=False)

        with contextlib.suppress(discord.HTTPException):
            await self.client.outboxes.of(message.channel.id).send(reply)

    def _surface(
        self,
        channel: Any,
        requester_id: int,
        *,
        interaction: discord.Interaction[Any] | None = None,
    ) -> DiscordSurface:
        target: MessageChannel = channel
        return self.client.surface(target, requester_id=requester_id, interaction=interaction)


async def fetch_attachments(attachments: Sequence[discord.Attachment]) -> Fetched:
    """The files of a message; one too large or unreadable is skipped, and said so."""
    found: list[Attachment] = []
    skipped: list[str] = []
    for item in attachments:
        if item.size > MAX_ATTACHMENT_BYTES:
            skipped.append(f"{item.filename} (over 20 MB)")
            continue
        try:
            data = await item.read()
        except discord.HTTPException as exc:
            log.warning("discord.attachment_failed", name=item.filename, error=repr(exc))
            skipped.append(f"{item.filename} (could not be downloaded)")
            continue
        media_type = item.content_type or "application/octet-stream"
        kind: Literal["image", "document"] = (
            "image" if media_type.startswith("image/") else "document"
        )
        found.append(Attachment(kind, item.filename, data, media_type))
    return found, skipped


def addressed_to_bot(message: discord.Message, bot_id: int | None) -> bool:
    """A DM, a message in a thread the bot opened (a session's thread), or one that
    mentions the bot; everything else in a channel is not for us."""
    channel = message.channel
    if isinstance(channel, discord.DMChannel | discord.GroupChannel):
        return True
    if bot_id is None:
        return False
    if isinstance(channel, discord.Thread) and channel.owner_id == bot_id:
        return True
    return any(user.id == bot_id for user in message.mentions) or bool(
        re.search(rf"<@!?{bot_id}>", message.content)
    )


async def run_discord(
    dispatcher: ChatDispatcher,
    config: DiscordConfig,
    stopping: asyncio.Event,
    background: BackgroundTasks | None = None,
) -> None:
    """Run the Discord app until ``stopping`` is set; raises on fatal errors (a bad
    token, a refused intent) so the supervisor can restart it with backoff."""
    use_endpoints(config.api_url, config.gateway_url)
    bot = DiscordBot(dispatcher, config, background)
    log.info("discord.starting", api_url=config.api_url, guild_id=config.guild_id)
    await bot.run(stopping)
