"""Discord channels and threads as :class:`~chat_adapters.surface.Surface` s.

Discord renders Markdown itself, so text goes out as Claude wrote it, split at 2000
characters without breaking code fences. Status lines (tool activity, outcomes) are
plain text: escaped and shown as small "-#" subtext under the answer.

Every send and edit of one channel (a thread is a channel) goes through that channel's
:class:`~chat_adapters.outbox.Outbox`: operations run one at a time at most once a
second, a newer edit of a message replaces a queued one, and a rate limit pauses the
channel instead of failing. discord.py waits out 429s by itself; the pacing keeps
them from happening.

A surface bound to a slash command (``interaction=``) answers the command: its first
message is the deferred interaction's follow-up (replacing "thinking…"), later ones
are plain channel messages. The follow-up is edited through the interaction token
while that is valid (15 minutes) and through the channel afterwards; a command that
sent nothing for 14 minutes gets its placeholder replaced, so Discord never shows
"the application did not respond".

Mentions are off for everything the bot sends (model text cannot ping anyone),
except the requester on approvals and questions, so their phone notifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

import discord
import structlog

from chat_adapters.choices import ChoiceAnswer, ChoicePrompt
from chat_adapters.discord.components import ComponentRouter, choice_view, stop_view
from chat_adapters.long_turns import TurnClock
from chat_adapters.outbox import Outbox
from chat_adapters.surface import (
    Capabilities,
    MessageRef,
    StopCallback,
    Unsupported,
    check_file_name,
    truncate_to,
)
from chat_adapters.text_split import fence_closer, split_markdown
from storage.preferences import ChatKey

log = structlog.get_logger(__name__)

MESSAGE_LIMIT = 2000
MAX_FILE_BYTES = 8 * 1024 * 1024
"""Discord's upload limit for a server without boosts (10 MiB today; 8 MiB stays safe)."""
EDIT_INTERVAL_S = 1.0
SEND_BURST, SEND_BURST_WINDOW_S = 4, 5.5
"""New messages may go out unpaced, 4 per 5.5 s: under Discord's 5 per 5 s per channel."""
THREAD_NAME_LIMIT = 100
INTERACTION_TOKEN_S = 15 * 60.0
INTERACTION_SAFE_S = 14 * 60.0
"""Stop using an interaction token this long after the interaction: it dies at 15 min."""
STILL_WORKING = "⏳ Still working on it; the reply will follow in this channel."
MENTION_KINDS = frozenset({"approval", "question", "plan"})
"""Prompts that need the person: they mention the requester, so the phone notifies."""

MessageChannel: TypeAlias = (
    discord.TextChannel
    | discord.Thread
    | discord.DMChannel
    | discord.VoiceChannel
    | discord.StageChannel
    | discord.PartialMessageable
)
NO_MENTIONS = discord.AllowedMentions.none()


def discord_capabilities(*, threads: bool) -> Capabilities:
    return Capabilities(
        max_message_length=MESSAGE_LIMIT,
        length_unit="characters",
        can_edit=True,
        min_edit_interval_s=EDIT_INTERVAL_S,
        button_data_limit_bytes=100,
        max_buttons_per_row=5,
        has_threads=threads,
        supports_files=True,
        max_file_bytes=MAX_FILE_BYTES,
    )


def retry_after_of(exc: BaseException) -> float | None:
    """discord.py waits out 429s itself; it raises only when told not to wait that long."""
    return exc.retry_after if isinstance(exc, discord.RateLimited) else None


class Outboxes:
    """One paced :class:`Outbox` per channel or thread, shared by every surface on it."""

    def __init__(self, *, min_interval_s: float = EDIT_INTERVAL_S) -> None:
        self._interval = min_interval_s
        self._by_channel: dict[int, Outbox] = {}

    def of(self, channel_id: int) -> Outbox:
        outbox = self._by_channel.get(channel_id)
        if outbox is None:
            outbox = Outbox(
                min_interval_s=self._interval,
                send_burst=SEND_BURST,
                send_window_s=SEND_BURST_WINDOW_S,
                retry_after=retry_after_of,
                name=f"discord:{channel_id}",
            )
            self._by_channel[channel_id] = outbox
        return outbox

    async def drain(self) -> None:
        """Wait until every channel's queue is empty (the caller bounds the wait)."""
        await asyncio.gather(*(o.drain() for o in list(self._by_channel.values())))

    async def aclose(self) -> None:
        """Deliver what is queued (the caller bounds the wait), then refuse more."""
        await asyncio.gather(*(o.aclose() for o in self._by_channel.values()))


# -- rendering ------------------------------------------------------------------------


def render_status(lines: Sequence[str]) -> str:
    """Status lines as escaped "-#" subtext: plain text, never parsed as Markdown."""
    return "\n".join(
        f"-# {discord.utils.escape_markdown(' '.join(line.split()))}"
        for line in lines
        if line.strip()
    )


def compose(text: str, status: Sequence[str] = (), limit: int = MESSAGE_LIMIT) -> str:
    """One message: the Markdown text, then the status lines; the oldest status lines
    give way when both do not fit (callers keep the text itself within the limit)."""
    body = text.rstrip()
    lines = list(status)
    while True:
        rendered = render_status(lines)
        content = f"{body}\n\n{rendered}" if body and rendered else body or rendered
        if len(content) <= limit:
            return content
        if not lines:
            return truncate_to(content, limit)
        lines = lines[1:]


def thread_name(title: str) -> str:
    name = " ".join(title.split())
    return truncate_to(name, THREAD_NAME_LIMIT) or "Claude session"


def _chunks(text: str, limit: int) -> list[str]:
    return [chunk for chunk in split_markdown(text, limit) if chunk.strip()]


# -- messages the bot posted ------------------------------------------------------------


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
        router: ComponentRouter,
        outboxes: Outboxes,
        requester_id: int | None = None,
        interaction: discord.Interaction[Any] | None = None,
        notify_after_s: float | None = None,
    ) -> None:
        self.notify_after_s = notify_after_s
        """A turn longer than this ends with a new message mentioning the asker."""
        self._channel = channel
        self._router = router
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
        key = self.chat_key
        return (
            f"discord:{key.chat_id}:{key.thread_id}" if key.thread_id else f"discord:{key.chat_id}"
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def channel(self) -> MessageChannel:
        return self._channel

    @property
    def chat_key(self) -> ChatKey:
        channel = self._channel
        if isinstance(channel, discord.Thread) and channel.parent_id:
            return ChatKey.of("discord", channel.parent_id, channel.id)
        return ChatKey.of("discord", channel.id)

    # -- Surface ----------------------------------------------------------------------

    async def send_text(self, text: str) -> MessageRef:
        if not text.strip():
            raise ValueError("refusing to send a blank message")
        refs = [await self._post(chunk) for chunk in _chunks(text, MESSAGE_LIMIT)]
        return MessageRef(str(refs[0].message_id))

    async def open_live_reply(self, *, on_stop: StopCallback | None = None) -> DiscordLiveReply:
        return DiscordLiveReply(self, on_stop)

    async def ask_choice(self, prompt: ChoicePrompt) -> ChoiceAnswer:
        caps = self._capabilities
        title = f"**{discord.utils.escape_markdown(' '.join(prompt.title.split()))}**"
        full = f"{title}\n\n{prompt.body}" if prompt.body.strip() else title
        mention: discord.AllowedMentions | None = None
        if prompt.kind in MENTION_KINDS and self._requester_id is not None:
            # The requester, and only them, may be pinged; lead with them unless the
            # prompt already names them (the approval bridge does).
            tag = f"<@{self._requester_id}>"
            mention = discord.AllowedMentions(users=[discord.Object(self._requester_id)])
            if tag not in full and f"<@!{self._requester_id}>" not in full:
                full = f"{tag} {full}"
        chunks = _chunks(full, caps.text_budget)
        for chunk in chunks[:-1]:
            await self._post(chunk, mentions=mention)
        shown = chunks[-1]

        def settle(note: str) -> str:
            return compose(shown, (note,))

        pending = self._router.open_prompt(prompt, self._channel.id, settle)
        try:
            view = choice_view(prompt, pending.key)
            posted = await self._post(shown, view=view, mentions=mention)
        except BaseException:
            self._router.close_prompt(pending)
            raise
        try:
            answer = await asyncio.wait_for(asyncio.shield(pending.answer), prompt.timeout_s)
        except TimeoutError:
            if self._router.close_prompt(pending):
                label = prompt.option(prompt.timeout_choice).label
                await self._settle(posted, settle(f"⏱ No answer in time: {label}"))
                return prompt.timeout_answer()
            answer = await pending.answer  # a click or typed answer won the race
        except asyncio.CancelledError:
            if self._router.close_prompt(pending):
                _background(self._settle(posted, settle("(cancelled)")))
            raise
        if not pending.answered_by_click:
            if answer.text is not None:
                note = f"→ {truncate_to(' '.join(answer.text.split()), 200)}"
            else:
                note = f"→ {prompt.option(answer.choice_id or '').label}"
            await self._settle(posted, settle(note))
        return answer

    async def deliver_file(self, name: str, data: bytes, caption: str = "") -> MessageRef:
        check_file_name(name)
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"{name} is {len(data)} bytes; Discord takes at most {MAX_FILE_BYTES}")
        text = truncate_to(discord.utils.escape_markdown(caption.strip()), MESSAGE_LIMIT)
        posted = await self._post(text, file=(name, data))
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
            thread, router=self._router, outboxes=self._outboxes, requester_id=self._requester_id
        )
        if self._reply is not None and self._reply.usable():
            await self._post(f"🧵 Continuing in {thread.mention}")
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

    async def _post(
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

    def requester_ping(self) -> tuple[str, discord.AllowedMentions] | None:
        """The asker's mention and the allowance to ping them (and only them)."""
        if self._requester_id is None:
            return None
        users = [discord.Object(self._requester_id)]
        return f"<@{self._requester_id}>", discord.AllowedMentions(users=users)

    async def _delete(self, posted: Posted) -> None:
        """Remove a message this bot sent (its queued edits first); gone is fine."""

        async def run() -> None:
            with contextlib.suppress(discord.NotFound):
                await self._channel.get_partial_message(posted.message_id).delete()

        await self._outbox.delete(posted.message_id, run)

    async def _edit(
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
            await self._edit(posted, content, view=None, final=True)
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
                _background(self._still_working(reply))

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


class DiscordLiveReply:
    """One message edited in place, with a Stop button until it is finalized."""

    def __init__(self, surface: DiscordSurface, on_stop: StopCallback | None) -> None:
        self._surface = surface
        self._on_stop = on_stop
        self._posted: Posted | None = None
        self._shown: str | None = None
        self._stop_key: str | None = None
        self._finalized = False
        self._lock = asyncio.Lock()
        self._clock = TurnClock(surface.notify_after_s)

    async def update(self, text: str, status: Sequence[str] = ()) -> None:
        if self._finalized:
            raise RuntimeError("live reply already finalized")
        # A half-streamed code block is closed for display, so it renders as code.
        content = compose(text + fence_closer(text), status)
        if not content.strip():
            return
        async with self._lock:
            if self._finalized:
                raise RuntimeError("live reply already finalized")
            if content == self._shown:
                return
            if self._posted is None:
                view = None
                if self._on_stop is not None:
                    self._stop_key = self._surface._router.open_stop(self._on_stop)
                    view = stop_view(self._stop_key)
                self._posted = await self._surface._post(content, view=view)
            else:
                await self._surface._edit(self._posted, content)
            self._shown = content

    async def finalize(self, text: str, status: Sequence[str] = ()) -> MessageRef:
        if self._finalized:
            raise RuntimeError("live reply already finalized")
        if not text.strip() and not any(line.strip() for line in status):
            raise ValueError("finalize needs text or a status line")
        self._finalized = True
        async with self._lock:
            ping = self._surface.requester_ping() if self._clock.took_long() else None
            caps = self._surface.capabilities
            budget = caps.text_budget - (len(ping[0]) + 1 if ping else 0)
            chunks = _chunks(text, budget) or [""]
            last = len(chunks) - 1
            contents = [
                compose(chunk, status if i == last else ()) for i, chunk in enumerate(chunks)
            ]
            if ping is not None:
                # An edit does not notify: a long turn's answer is a new message that
                # mentions the asker, and the live message goes.
                contents[0] = f"{ping[0]} {contents[0]}"
            try:
                if ping is not None:
                    first = await self._surface._post(contents[0], mentions=ping[1])
                    if self._posted is not None:
                        await self._surface._delete(self._posted)
                elif self._posted is None:
                    first = await self._surface._post(contents[0])
                else:
                    first = self._posted
                    await self._surface._edit(first, contents[0], view=None, final=True)
            finally:
                if self._stop_key is not None:
                    self._surface._router.close_stop(self._stop_key)
            for content in contents[1:]:
                await self._surface._post(content)
            return MessageRef(str(first.message_id))


_tasks: set[asyncio.Task[None]] = set()


def _background(coro: Any) -> None:
    task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
