"""Discord channels and threads as :class:`~chat_adapters.surface.Surface` s.

Text goes out as Claude wrote it (:mod:`.rendering`); every send and edit of one
channel goes through that channel's outbox (:mod:`.outboxes`). Live replies are in
:mod:`.live_reply`; what a button means is :mod:`chat_adapters.interactions`' job.

A surface bound to a slash command (``interaction=``) answers the command: its first
message is the deferred interaction's follow-up (replacing "thinking…"), later ones
are plain channel messages. The follow-up is edited through the interaction token
while that is valid (15 minutes) and through the channel afterwards; a command that
sent nothing for 14 minutes gets its placeholder replaced, so Discord never shows
"the application did not respond".

Mentions are off for everything the bot sends (model text cannot ping anyone),
except whoever a prompt says must answer (``ChoicePrompt.notify``), so their phone
notifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

import discord
import structlog

from chat_adapters.background import BackgroundTasks
from chat_adapters.choices import ChoiceAnswer, ChoicePrompt
from chat_adapters.discord.components import choice_view
from chat_adapters.discord.live_reply import DiscordLiveReply
from chat_adapters.discord.outboxes import Outboxes
from chat_adapters.discord.rendering import (
    MAX_FILE_BYTES,
    MESSAGE_LIMIT,
    NO_MENTIONS,
    chat_of,
    chunks,
    compose,
    discord_capabilities,
    mention,
    press_chat,
    thread_name,
)
from chat_adapters.interactions import Interactions, OpenChoice, answer_note
from chat_adapters.surface import (
    Capabilities,
    MessageRef,
    StopCallback,
    Unsupported,
    check_file_name,
    surface_id_of,
    truncate_to,
)
from storage.preferences import ChatKey

log = structlog.get_logger(__name__)

INTERACTION_SAFE_S = 14 * 60.0
"""Stop using an interaction token this long after the interaction: it dies at 15 min."""
STILL_WORKING = "⏳ Still working on it; the reply will follow in this channel."
MENTION_KINDS = frozenset({"approval", "question", "plan"})
"""Prompts that need the person: without a ``notify``, they mention the requester."""

MessageChannel: TypeAlias = (
    discord.TextChannel
    | discord.Thread
    | discord.DMChannel
    | discord.VoiceChannel
    | discord.StageChannel
    | discord.PartialMessageable
)


@dataclass(eq=False)
class Posted:
    """A message the bot sent; an interaction follow-up is edited through its token
    while that is valid."""

    message_id: int
    webhook: discord.WebhookMessage | None = None
    token_until: float = 0.0


@dataclass(eq=False)
class _InteractionReply:
    interaction: discord.Interaction[Any]
    token_until: float
    answered: bool = False
    watchdog: asyncio.TimerHandle | None = None

    def usable(self) -> bool:
        return not self.answered and time.monotonic() < self.token_until


class DiscordSurface:
    """A channel, thread or DM; with ``interaction``, the answer to a slash command."""

    def __init__(
        self,
        channel: MessageChannel,
        *,
        interactions: Interactions,
        outboxes: Outboxes,
        background: BackgroundTasks,
        requester_id: int | None = None,
        interaction: discord.Interaction[Any] | None = None,
        notify_after_s: float | None = None,
    ) -> None:
        self.notify_after_s = notify_after_s
        """A turn longer than this ends with a new message mentioning the asker."""
        self._channel = channel
        self.interactions = interactions
        self.background = background
        self._outboxes = outboxes
        self._outbox = outboxes.of(channel.id)
        self._requester_id = requester_id
        self._capabilities = discord_capabilities(threads=self._thread_parent() is not None)
        self._reply: _InteractionReply | None = None
        if interaction is not None:
            self._reply = _bind_interaction(interaction)
            self._arm_watchdog(self._reply)

    # -- identity ---------------------------------------------------------------------

    @property
    def surface_id(self) -> str:
        return surface_id_of(self.chat_key)

    @property
    def requester_id(self) -> str | None:
        """Who this surface answers: mentioned when a long turn ends."""
        return None if self._requester_id is None else str(self._requester_id)

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def channel(self) -> MessageChannel:
        return self._channel

    @property
    def chat_key(self) -> ChatKey:
        return chat_of(self._channel)

    # -- Surface ----------------------------------------------------------------------

    async def send_text(self, text: str) -> MessageRef:
        if not text.strip():
            raise ValueError("refusing to send a blank message")
        refs = [await self.post(chunk) for chunk in chunks(text, MESSAGE_LIMIT)]
        return MessageRef(str(refs[0].message_id))

    async def open_live_reply(self, *, on_stop: StopCallback | None = None) -> DiscordLiveReply:
        return DiscordLiveReply(self, on_stop)

    async def ask_choice(self, prompt: ChoicePrompt) -> ChoiceAnswer:
        title = f"**{discord.utils.escape_markdown(' '.join(prompt.title.split()))}**"
        full = f"{title}\n\n{prompt.body}" if prompt.body.strip() else title
        pinged: discord.AllowedMentions | None = None
        notify = prompt.notify.user_id if prompt.notify is not None else None
        if notify is None and prompt.kind in MENTION_KINDS:
            notify = self.requester_id
        if notify is not None and notify.isdigit():
            tag, pinged = mention(notify)  # them, and only them, may be pinged
            full = f"{tag} {full}"
        parts = chunks(full, self._capabilities.text_budget)
        for part in parts[:-1]:
            await self.post(part, mentions=pinged)
        shown = parts[-1]
        choice = await self.interactions.open_choice(
            prompt, chat=press_chat(self.chat_key), where=self.surface_id
        )
        posting: asyncio.Future[Posted] | None = None
        answer: ChoiceAnswer | None = None
        try:
            # Shielded: a caller cancelled while the prompt is on its way must not lose
            # its message, or the buttons would stay with nobody waiting for them.
            posting = asyncio.ensure_future(
                self.post(shown, view=choice_view(prompt, choice.key), mentions=pinged)
            )
            await asyncio.shield(posting)
            answer = await choice.wait()
            return answer
        finally:
            # The answer shows before ask_choice returns; a cancelled caller does not
            # wait, but the edit still lands.
            settle = self._settle_choice(choice, answer, posting, shown)
            task = self.background.spawn(settle, name=f"{self.surface_id}-settle")
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    async def _settle_choice(
        self,
        choice: OpenChoice,
        answer: ChoiceAnswer | None,
        posting: asyncio.Future[Posted] | None,
        shown: str,
    ) -> None:
        """Buttons off, and the chat shows what was chosen (unless the click already
        showed it, in its answer) or that time ran out."""
        await self.interactions.close_choice(choice, answer)
        pressed = answer is not None and choice.by_press and not answer.timed_out
        posted: Posted | None = None
        if posting is not None:
            with contextlib.suppress(Exception):  # a failed post was already raised
                posted = await posting
        if posted is not None and not pressed:
            await self._settle(posted, compose(shown, (answer_note(choice.prompt, answer),)))

    async def deliver_file(self, name: str, data: bytes, caption: str = "") -> MessageRef:
        check_file_name(name)
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"{name} is {len(data)} bytes; Discord takes at most {MAX_FILE_BYTES}")
        text = truncate_to(discord.utils.escape_markdown(caption.strip()), MESSAGE_LIMIT)
        posted = await self.post(text, file=(name, data))
        return MessageRef(str(posted.message_id))

    async def open_thread(
        self, title: str, existing: str | None = None
    ) -> tuple[DiscordSurface, ChatKey]:
        """A public thread under this channel (or this thread's parent), as a surface of
        its own: ``existing`` when that thread is still there, else a new one named after
        ``title``. On a command's surface, the command's answer links to it unless
        something was already said."""
        parent = self._thread_parent()
        if parent is None:
            raise Unsupported(f"{self.surface_id} cannot have threads")
        thread = await self._existing_thread(parent, existing) if existing else None
        if thread is None:
            name = thread_name(title)

            async def create() -> discord.Thread:
                return await parent.create_thread(name=name, type=discord.ChannelType.public_thread)

            thread = await self._outboxes.of(parent.id).send(create)
            log.info("discord.thread_opened", parent=parent.id, thread=thread.id)
        else:
            log.info("discord.thread_reused", parent=parent.id, thread=thread.id)
        surface = DiscordSurface(
            thread,
            interactions=self.interactions,
            outboxes=self._outboxes,
            background=self.background,
            requester_id=self._requester_id,
        )
        if self._reply is not None and self._reply.usable():
            await self.post(f"🧵 Continuing in {thread.mention}")
        return surface, ChatKey.of("discord", parent.id, thread.id)

    @staticmethod
    async def _existing_thread(
        parent: discord.TextChannel, thread_id: str
    ) -> discord.Thread | None:
        """The thread if it still exists under ``parent`` (archived ones reopen on send)."""
        if not thread_id.isdigit():
            return None
        cached = parent.guild.get_thread(int(thread_id))
        if cached is not None:
            return cached if cached.parent_id == parent.id else None
        try:
            fetched = await parent.guild.fetch_channel(int(thread_id))
        except discord.HTTPException:
            return None
        if isinstance(fetched, discord.Thread) and fetched.parent_id == parent.id:
            return fetched
        return None

    # -- sending, through the channel's outbox ----------------------------------------

    async def post(
        self,
        content: str,
        *,
        view: discord.ui.View | None = None,
        file: tuple[str, bytes] | None = None,
        mentions: discord.AllowedMentions | None = None,
    ) -> Posted:
        async def run() -> Posted:
            attached = discord.File(io.BytesIO(file[1]), filename=file[0]) if file else None
            return await self._send_now(content, view, attached, mentions or NO_MENTIONS)

        return await self._outbox.send(run)

    async def _send_now(
        self,
        content: str,
        view: discord.ui.View | None,
        file: discord.File | None,
        mentions: discord.AllowedMentions,
    ) -> Posted:
        reply = self._reply
        if reply is not None and reply.usable():
            reply.answered = True
            if reply.watchdog is not None:
                reply.watchdog.cancel()
            sent = await reply.interaction.followup.send(
                content=content or discord.utils.MISSING,
                view=view or discord.utils.MISSING,
                file=file or discord.utils.MISSING,
                allowed_mentions=mentions,
                wait=True,
            )
            return Posted(sent.id, sent, reply.token_until)
        extra: dict[str, Any] = {}
        if view is not None:
            extra["view"] = view
        if file is not None:
            extra["file"] = file
        message = await self._channel.send(content or None, allowed_mentions=mentions, **extra)
        return Posted(message.id)

    async def delete(self, posted: Posted) -> None:
        """Remove a message this bot sent (its queued edits first); gone is fine."""

        async def run() -> None:
            with contextlib.suppress(discord.NotFound):
                await self._channel.get_partial_message(posted.message_id).delete()

        await self._outbox.delete(posted.message_id, run)

    async def edit(
        self,
        posted: Posted,
        content: str,
        *,
        view: discord.ui.View | Any | None = discord.utils.MISSING,
        final: bool = False,
    ) -> bool:
        async def run() -> None:
            if posted.webhook is not None and time.monotonic() < posted.token_until:
                await posted.webhook.edit(content=content, view=view)
            else:
                message = self._channel.get_partial_message(posted.message_id)
                await message.edit(content=content, view=view)

        return await self._outbox.edit(posted.message_id, run, final=final)

    async def _settle(self, posted: Posted, content: str) -> None:
        """The last edit of a prompt: its outcome, without buttons. Failing to show it
        must not lose the answer, so it is logged, not raised."""
        try:
            await self.edit(posted, content, view=None, final=True)
        except Exception as exc:  # a closed client or outbox at shutdown, an HTTP error
            log.warning("discord.prompt_settle_failed", surface=self.surface_id, error=repr(exc))

    def _thread_parent(self) -> discord.TextChannel | None:
        channel = self._channel
        if isinstance(channel, discord.TextChannel):
            return channel
        if isinstance(channel, discord.Thread) and isinstance(channel.parent, discord.TextChannel):
            return channel.parent
        return None

    def _arm_watchdog(self, reply: _InteractionReply) -> None:
        delay = max(0.0, reply.token_until - time.monotonic())

        def fire() -> None:
            if not reply.answered:
                reply.answered = True
                self.background.spawn(
                    self._still_working(reply), name=f"{self.surface_id}-placeholder"
                )

        reply.watchdog = asyncio.get_running_loop().call_later(delay, fire)

    async def _still_working(self, reply: _InteractionReply) -> None:
        try:
            await reply.interaction.edit_original_response(content=STILL_WORKING)
        except Exception as exc:  # an HTTP error, or the client closed meanwhile
            log.warning("discord.placeholder_expired", surface=self.surface_id, error=repr(exc))


def _bind_interaction(interaction: discord.Interaction[Any]) -> _InteractionReply:
    age = (datetime.now(UTC) - interaction.created_at).total_seconds()
    age = min(max(age, 0.0), INTERACTION_SAFE_S)
    return _InteractionReply(interaction, time.monotonic() + INTERACTION_SAFE_S - age)
