"""The fake Discord's world: one guild, its channels and threads, users and messages.

Messages are stored with their *current* state (edits applied, deletions marked), and
every change notifies waiters and emits the gateway event the real service would send
(MESSAGE_CREATE/UPDATE/DELETE, THREAD_CREATE...). Payload builders produce exactly the
fields discord.py 2.7 reads, so the real library parses them without complaint.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from tests.fakes.discord_limits import (
    ApiError,
    Json,
    Violation,
    check_message,
    check_thread_name,
    empty_message,
    is_empty_message,
    walk_components,
)

DISCORD_EPOCH_MS = 1420070400000

# Gateway intents (bit values from the Discord docs).
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Channel and message types, message flags.
TEXT_CHANNEL = 0
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = frozenset({PUBLIC_THREAD, PRIVATE_THREAD})
MESSAGE_DEFAULT = 0
MESSAGE_THREAD_CREATED = 18
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

# @everyone may read, write, react, attach, use commands and open threads; the bot is admin.
EVERYONE_PERMISSIONS = ((1 << 6) | (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16)) | (
    (1 << 31) | (1 << 35) | (1 << 36) | (1 << 38)
)
ADMINISTRATOR = 1 << 3

_MENTION = re.compile(r"<@!?(\d+)>")

log = structlog.get_logger(__name__)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Snowflakes:
    """Increasing, time-based ids, so discord.py's ``created_at`` is plausible."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        value = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(value, self._last + 1)
        return self._last


@dataclass(frozen=True, slots=True)
class Upload:
    """One ``files[n]`` part of a multipart request."""

    index: int
    filename: str
    content_type: str
    data: bytes
    duration_secs: float | None = None
    """Voice messages only: their length, as Discord reports it."""


@dataclass(frozen=True, slots=True)
class Attachment:
    id: int
    filename: str
    content_type: str
    data: bytes
    description: str | None = None
    duration_secs: float | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message as it is *now* (after edits); ``edit_times`` are monotonic seconds."""

    id: int
    channel_id: int
    author_id: int
    content: str
    embeds: tuple[Json, ...]
    components: tuple[Json, ...]
    attachments: tuple[Attachment, ...]
    flags: int
    type: int
    reactions: tuple[str, ...]
    created_at: float
    edit_times: tuple[float, ...]
    deleted: bool
    interaction_id: int | None
    webhook: bool
    pinged: tuple[int, ...] = ()
    """Users whose phone this message notified: mentioned when it was created and
    allowed by its ``allowed_mentions`` (an edit never notifies)."""

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred ("thinking...") response not yet filled by a follow-up or edit."""
        return bool(self.flags & FLAG_LOADING)

    @property
    def edit_count(self) -> int:
        return len(self.edit_times)

    @property
    def custom_ids(self) -> tuple[str, ...]:
        return tuple(
            str(c["custom_id"]) for _, c in walk_components(self.components, "") if "custom_id" in c
        )

    def component(self, custom_id: str) -> Json | None:
        for _, component in walk_components(self.components, ""):
            if component.get("custom_id") == custom_id:
                return component
        return None


@dataclass(frozen=True, slots=True)
class ThreadInfo:
    id: int
    parent_id: int
    name: str
    type: int
    owner_id: int
    archived: bool
    locked: bool
    member_ids: frozenset[int]
    starter_message_id: int | None

    @property
    def private(self) -> bool:
        return self.type == PRIVATE_THREAD


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One REST request: ``route`` is the template, e.g. ``PATCH /channels/{channel_id}``."""

    method: str
    route: str
    path: str
    status: int
    at: float


@dataclass(slots=True)
class UserRec:
    id: int
    name: str
    bot: bool = False
    joined_at: str = field(default_factory=now_iso)


@dataclass(slots=True)
class ChannelRec:
    id: int
    name: str
    type: int
    position: int = 0
    parent_id: int | None = None
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    created_at: str = field(default_factory=now_iso)
    archived_at: str = field(default_factory=now_iso)
    last_message_id: int | None = None
    message_count: int = 0
    members: set[int] = field(default_factory=set)
    starter_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass(slots=True)
class MessageRec:
    id: int
    channel_id: int
    author_id: int
    content: str = ""
    embeds: list[Json] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = MESSAGE_DEFAULT
    reactions: list[str] = field(default_factory=list)
    timestamp: str = field(default_factory=now_iso)
    edited_timestamp: str | None = None
    created_at: float = field(default_factory=time.monotonic)
    edit_times: list[float] = field(default_factory=list)
    deleted: bool = False
    interaction_id: int | None = None
    interaction_meta: Json | None = None
    webhook_id: int | None = None
    reference: Json | None = None
    thread_id: int | None = None
    sticker_items: list[Json] = field(default_factory=list)
    pinged: tuple[int, ...] = ()

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)


Emit = Callable[[str, Json, int, bool], None]
"""``emit(event, data, intent, content_gated)``: hands a dispatch to the gateway."""


class DiscordWorld:
    """All state the fake serves; REST, gateway and the test-side API share one instance."""

    def __init__(
        self,
        *,
        token: str,
        bot_name: str,
        guild_name: str,
        channel_names: Iterable[str],
        user_names: Iterable[str],
    ) -> None:
        self.ids = Snowflakes()
        self.token = token
        self.bot = UserRec(self.ids.next(), bot_name, bot=True)
        self.application_id = self.bot.id
        self.guild_id = self.ids.next()
        self.guild_name = guild_name
        self.bot_role_id = self.ids.next()
        self.users: dict[int, UserRec] = {self.bot.id: self.bot}
        for name in user_names:
            self.add_user(name)
        self.channels: dict[int, ChannelRec] = {}
        for position, name in enumerate(channel_names):
            channel = ChannelRec(self.ids.next(), name, TEXT_CHANNEL, position=position)
            self.channels[channel.id] = channel
        self.messages: dict[int, MessageRec] = {}
        self.attachments: dict[int, Attachment] = {}
        self.commands: dict[int | None, list[Json]] = {}
        self.violations: list[Violation] = []
        self.requests: list[RequestRecord] = []
        self.route_counts: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.typing: Counter[int] = Counter()
        self.in_flight = 0
        self.attachment_base = ""
        self.emit: Emit = lambda event, data, intent, gated: None
        self._changed = asyncio.Event()

    # -- change notification -------------------------------------------------------

    def notify(self) -> None:
        """Wake everything waiting in :meth:`wait_until`."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` holds; callers bound this with ``asyncio.timeout``.

        Re-checked on every change, and every 50 ms for predicates about time passing
        (an interaction going unanswered).
        """
        while not predicate():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05):
                    await self._changed.wait()

    def record_violation(self, kind: str, route: str, detail: str) -> None:
        self.violations.append(Violation(kind, route, detail, time.monotonic()))
        log.warning("fake_discord.violation", kind=kind, route=route, detail=detail)
        self.notify()

    # -- lookups -------------------------------------------------------------------

    def add_user(self, name: str, user_id: int | None = None, *, bot: bool = False) -> UserRec:
        user = UserRec(user_id or self.ids.next(), name, bot=bot)
        self.users[user.id] = user
        return user

    def user(self, user_id: int) -> UserRec:
        """A known user, or a new guild member named ``user<id>`` (tests pick any id)."""
        user = self.users.get(user_id)
        if user is None:
            user = self.add_user(f"user{user_id}", user_id)
        return user

    def channel(self, channel_id: int | str) -> ChannelRec:
        try:
            return self.channels[int(channel_id)]
        except (KeyError, ValueError):
            raise ApiError(404, 10003, "Unknown Channel") from None

    def channel_by_name(self, name: str) -> ChannelRec:
        for channel in self.channels.values():
            if channel.name == name and not channel.is_thread:
                return channel
        raise KeyError(f"no text channel named {name!r}; have {self.channel_names()}")

    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels.values() if not c.is_thread]

    def message(self, channel_id: int | str, message_id: int | str) -> MessageRec:
        channel = self.channel(channel_id)
        try:
            message = self.messages[int(message_id)]
        except (KeyError, ValueError):
            raise ApiError(404, 10008, "Unknown Message") from None
        if message.deleted or message.channel_id != channel.id:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def mentioned_ids(self, content: str) -> list[int]:
        found = [int(m) for m in _MENTION.findall(content)]
        return [user_id for user_id in dict.fromkeys(found) if user_id in self.users]

    # -- payloads ------------------------------------------------------------------

    def user_payload(self, user: UserRec) -> Json:
        return {
            "id": str(user.id),
            "username": user.name,
            "discriminator": "0",
            "global_name": user.name,
            "avatar": None,
            "bot": user.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
        }

    def member_payload(self, user: UserRec, *, with_user: bool = True) -> Json:
        payload: Json = {
            "roles": [str(self.bot_role_id)] if user.id == self.bot.id else [],
            "nick": None,
            "avatar": None,
            "joined_at": user.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            payload["user"] = self.user_payload(user)
        return payload

    def roles_payload(self) -> list[Json]:
        def role(role_id: int, name: str, permissions: int, position: int) -> Json:
            return {
                "id": str(role_id),
                "name": name,
                "permissions": str(permissions),
                "position": position,
                "color": 0,
                "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "icon": None,
                "unicode_emoji": None,
                "flags": 0,
            }

        return [
            role(self.guild_id, "@everyone", EVERYONE_PERMISSIONS, 0),
            role(self.bot_role_id, self.bot.name, ADMINISTRATOR | EVERYONE_PERMISSIONS, 1),
        ]

    def channel_payload(self, channel: ChannelRec) -> Json:
        last = str(channel.last_message_id) if channel.last_message_id else None
        if channel.is_thread:
            return {
                "id": str(channel.id),
                "type": channel.type,
                "guild_id": str(self.guild_id),
                "parent_id": str(channel.parent_id),
                "owner_id": str(channel.owner_id),
                "name": channel.name,
                "last_message_id": last,
                "message_count": channel.message_count,
                "member_count": len(channel.members),
                "total_message_sent": channel.message_count,
                "rate_limit_per_user": 0,
                "flags": 0,
                "thread_metadata": {
                    "archived": channel.archived,
                    "auto_archive_duration": channel.auto_archive_duration,
                    "archive_timestamp": channel.archived_at,
                    "locked": channel.locked,
                    "create_timestamp": channel.created_at,
                    "invitable": True,
                },
            }
        return {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(self.guild_id),
            "name": channel.name,
            "position": channel.position,
            "permission_overwrites": [],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": last,
            "default_auto_archive_duration": 1440,
            "flags": 0,
        }

    def guild_payload(self) -> Json:
        channels = [c for c in self.channels.values() if not c.is_thread]
        threads = [c for c in self.channels.values() if c.is_thread and not c.archived]
        return {
            "id": str(self.guild_id),
            "name": self.guild_name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(next(iter(u.id for u in self.users.values() if not u.bot), 0)),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": self.roles_payload(),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": self.bot.joined_at,
            "large": False,
            "unavailable": False,
            "member_count": len(self.users),
            "voice_states": [],
            "members": [self.member_payload(u) for u in self.users.values()],
            "channels": [self.channel_payload(c) for c in channels],
            "threads": [self.channel_payload(c) for c in threads],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def attachment_payload(self, attachment: Attachment) -> Json:
        url = f"{self.attachment_base}/{attachment.id}/{attachment.filename}"
        payload: Json = {
            "id": str(attachment.id),
            "filename": attachment.filename,
            "size": len(attachment.data),
            "url": url,
            "proxy_url": url,
            "content_type": attachment.content_type,
        }
        if attachment.description is not None:
            payload["description"] = attachment.description
        if attachment.duration_secs is not None:  # a voice message
            payload["duration_secs"] = attachment.duration_secs
            payload["waveform"] = "AAAAAAAAAAAA"
        return payload

    def message_payload(self, message: MessageRec) -> Json:
        author = self.user(message.author_id)
        payload: Json = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "guild_id": str(self.guild_id),
            "author": self.user_payload(author),
            "content": message.content,
            "timestamp": message.timestamp,
            "edited_timestamp": message.edited_timestamp,
            "tts": False,
            "mention_everyone": False,
            "mentions": [
                self.user_payload(self.users[i]) for i in self.mentioned_ids(message.content)
            ],
            "mention_roles": [],
            "attachments": [self.attachment_payload(a) for a in message.attachments],
            "embeds": copy.deepcopy(message.embeds),
            "sticker_items": copy.deepcopy(message.sticker_items),
            "reactions": [
                {
                    "count": 1,
                    "count_details": {"burst": 0, "normal": 1},
                    "me": True,
                    "me_burst": False,
                    "burst_colors": [],
                    "emoji": {"id": None, "name": emoji},
                }
                for emoji in message.reactions
            ],
            "pinned": False,
            "type": message.type,
            "flags": message.flags,
            "components": copy.deepcopy(message.components),
        }
        if message.webhook_id is not None:
            payload["webhook_id"] = str(message.webhook_id)
            payload["application_id"] = str(self.application_id)
        if message.interaction_meta is not None:
            payload["interaction_metadata"] = copy.deepcopy(message.interaction_meta)
        if message.reference is not None:
            payload["message_reference"] = dict(message.reference)
        if message.thread_id is not None and message.thread_id in self.channels:
            payload["thread"] = self.channel_payload(self.channels[message.thread_id])
        return payload

    def gateway_message_payload(self, message: MessageRec) -> Json:
        payload = self.message_payload(message)
        payload["member"] = self.member_payload(self.user(message.author_id), with_user=False)
        return payload

    # -- snapshots -----------------------------------------------------------------

    def snapshot(self, message: MessageRec) -> SentMessage:
        return SentMessage(
            id=message.id,
            channel_id=message.channel_id,
            author_id=message.author_id,
            content=message.content,
            embeds=tuple(copy.deepcopy(message.embeds)),
            components=tuple(copy.deepcopy(message.components)),
            attachments=tuple(message.attachments),
            flags=message.flags,
            type=message.type,
            reactions=tuple(message.reactions),
            created_at=message.created_at,
            edit_times=tuple(message.edit_times),
            deleted=message.deleted,
            interaction_id=message.interaction_id,
            webhook=message.webhook_id is not None,
            pinged=message.pinged,
        )

    def thread_info(self, channel: ChannelRec) -> ThreadInfo:
        return ThreadInfo(
            id=channel.id,
            parent_id=channel.parent_id or 0,
            name=channel.name,
            type=channel.type,
            owner_id=channel.owner_id or 0,
            archived=channel.archived,
            locked=channel.locked,
            member_ids=frozenset(channel.members),
            starter_message_id=channel.starter_message_id,
        )

    # -- mutations -----------------------------------------------------------------

    def _attachments(
        self, body: Mapping[str, Any], uploads: list[Upload], existing: list[Attachment]
    ) -> list[Attachment]:
        """Resolve ``attachments`` entries: upload indexes become new files, ids keep old ones."""
        by_index = {upload.index: upload for upload in uploads}
        if "attachments" not in body:
            kept = list(existing)
            entries: list[Json] = [{"id": upload.index} for upload in uploads]
        else:
            kept = []
            entries = list(body.get("attachments") or [])
        old = {a.id: a for a in existing}
        result = kept
        for entry in entries:
            raw_id = int(entry.get("id", -1))
            if raw_id in old:
                result.append(old[raw_id])
                continue
            upload = by_index.get(raw_id)
            if upload is None:
                continue
            attachment = Attachment(
                id=self.ids.next(),
                filename=str(entry.get("filename") or upload.filename),
                content_type=upload.content_type,
                data=upload.data,
                description=entry.get("description"),
                duration_secs=upload.duration_secs,
            )
            self.attachments[attachment.id] = attachment
            result.append(attachment)
        return result

    def unarchive_for_send(self, channel: ChannelRec) -> None:
        """Sending into an archived thread unarchives it, unless it is locked."""
        if channel.is_thread and channel.archived:
            if channel.locked:
                raise ApiError(400, 50083, "Thread is archived", violation="thread_locked")
            channel.archived = False
            self.emit("THREAD_UPDATE", self.channel_payload(channel), INTENT_GUILDS, False)

    def create_message(
        self,
        channel: ChannelRec,
        *,
        author_id: int,
        body: Mapping[str, Any],
        uploads: list[Upload] | None = None,
        type: int | None = None,
        interaction_id: int | None = None,
        interaction_meta: Json | None = None,
        webhook: bool = False,
        allow_empty: bool = False,
    ) -> MessageRec:
        uploads = uploads or []
        check_message(body)
        if not allow_empty and is_empty_message(body, attachments=len(uploads)):
            raise empty_message()
        reference = body.get("message_reference")
        message = MessageRec(
            id=self.ids.next(),
            channel_id=channel.id,
            author_id=author_id,
            content=str(body.get("content") or ""),
            embeds=copy.deepcopy(list(body.get("embeds") or [])),
            components=copy.deepcopy(list(body.get("components") or [])),
            flags=int(body.get("flags") or 0),
            type=type if type is not None else (MESSAGE_REPLY if reference else MESSAGE_DEFAULT),
            interaction_id=interaction_id,
            interaction_meta=interaction_meta,
            webhook_id=self.application_id if webhook else None,
            reference=dict(reference) if reference else None,
            sticker_items=[
                {"id": str(sticker), "name": f"sticker {sticker}", "format_type": 1}
                for sticker in body.get("sticker_ids") or []
            ],
        )
        message.attachments = self._attachments(body, uploads, [])
        message.pinged = self._pinged(body, message.content)
        self.messages[message.id] = message
        if not message.ephemeral:
            channel.last_message_id = message.id
            channel.message_count += 1
            self._join_mentioned(channel, message)
            gated = author_id != self.bot.id and self.bot.id not in self.mentioned_ids(
                message.content
            )
            self.emit(
                "MESSAGE_CREATE",
                self.gateway_message_payload(message),
                INTENT_GUILD_MESSAGES,
                gated,
            )
        self.notify()
        return message

    def _pinged(self, body: Mapping[str, Any], content: str) -> tuple[int, ...]:
        """Mentioned users that ``allowed_mentions`` lets ping (all, without it)."""
        mentioned = self.mentioned_ids(content)
        allowed = body.get("allowed_mentions")
        if not isinstance(allowed, Mapping) or "users" in (allowed.get("parse") or []):
            return tuple(mentioned)
        users = {int(u) for u in allowed.get("users") or []}
        return tuple(u for u in mentioned if u in users)

    def _join_mentioned(self, channel: ChannelRec, message: MessageRec) -> None:
        """A bot message mentioning a user adds them to a private thread, as on Discord."""
        if channel.type == PRIVATE_THREAD and message.author_id == self.bot.id:
            channel.members.update(self.mentioned_ids(message.content))

    def edit_message(
        self, message: MessageRec, body: Mapping[str, Any], uploads: list[Upload] | None = None
    ) -> MessageRec:
        uploads = uploads or []
        check_message(body)
        attachments = self._attachments(body, uploads, message.attachments)
        content = body.get("content", message.content)
        embeds: list[Json] = list(body.get("embeds", message.embeds) or [])
        components: list[Json] = list(body.get("components", message.components) or [])
        merged = {"content": content, "embeds": embeds, "components": components}
        if is_empty_message(merged, attachments=len(attachments)):
            raise empty_message()
        message.content = str(content or "")
        message.embeds = copy.deepcopy(embeds)
        message.components = copy.deepcopy(components)
        message.attachments = attachments
        if "flags" in body and body["flags"] is not None:
            kept = message.flags & FLAG_EPHEMERAL
            message.flags = (int(body["flags"]) & ~FLAG_EPHEMERAL) | kept
        message.flags &= ~FLAG_LOADING
        message.edited_timestamp = now_iso()
        message.edit_times.append(time.monotonic())
        if not message.ephemeral:
            channel = self.channels[message.channel_id]
            self._join_mentioned(channel, message)
            gated = message.author_id != self.bot.id
            payload = self.gateway_message_payload(message)
            self.emit("MESSAGE_UPDATE", payload, INTENT_GUILD_MESSAGES, gated)
        self.notify()
        return message

    def fill_loading(
        self, message: MessageRec, body: Mapping[str, Any], uploads: list[Upload]
    ) -> MessageRec:
        """The first follow-up after a "thinking" defer replaces the loading message."""
        body = dict(body)
        if body.get("flags") is not None:
            body["flags"] = int(body["flags"]) & ~FLAG_EPHEMERAL
        edited = self.edit_message(message, body, uploads)
        edited.edit_times.pop()  # filling the placeholder is not an edit of shown text
        edited.edited_timestamp = None
        return edited

    def delete_message(self, message: MessageRec) -> None:
        message.deleted = True
        if not message.ephemeral:
            data = {
                "id": str(message.id),
                "channel_id": str(message.channel_id),
                "guild_id": str(self.guild_id),
            }
            self.emit("MESSAGE_DELETE", data, INTENT_GUILD_MESSAGES, False)
        self.notify()

    def add_reaction(self, message: MessageRec, emoji: str, user_id: int) -> None:
        if emoji not in message.reactions:
            message.reactions.append(emoji)
        data = {
            "user_id": str(user_id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "guild_id": str(self.guild_id),
            "member": self.member_payload(self.user(user_id)),
            "emoji": {"id": None, "name": emoji},
            "message_author_id": str(message.author_id),
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        self.emit("MESSAGE_REACTION_ADD", data, INTENT_GUILD_MESSAGE_REACTIONS, False)
        self.notify()

    def remove_reaction(self, message: MessageRec, emoji: str, user_id: int) -> None:
        if emoji in message.reactions:
            message.reactions.remove(emoji)
        data = {
            "user_id": str(user_id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "guild_id": str(self.guild_id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        self.emit("MESSAGE_REACTION_REMOVE", data, INTENT_GUILD_MESSAGE_REACTIONS, False)
        self.notify()

    def create_thread(
        self,
        parent: ChannelRec,
        *,
        name: str,
        type: int,
        owner_id: int,
        auto_archive_duration: int = 1440,
        starter: MessageRec | None = None,
    ) -> ChannelRec:
        if parent.is_thread:
            raise ApiError(
                400,
                50024,
                "Cannot execute action on this channel type",
                violation="thread_in_thread",
            )
        if starter is not None and starter.thread_id is not None:
            raise ApiError(
                400,
                160004,
                "A thread has already been created for this message",
                violation="thread_exists",
            )
        thread = ChannelRec(
            id=starter.id if starter is not None else self.ids.next(),
            name=name,
            type=type,
            parent_id=parent.id,
            owner_id=owner_id,
            auto_archive_duration=auto_archive_duration,
            members={owner_id},
            starter_message_id=starter.id if starter is not None else None,
        )
        self.channels[thread.id] = thread
        payload = self.channel_payload(thread)
        payload["newly_created"] = True
        self.emit("THREAD_CREATE", payload, INTENT_GUILDS, False)
        if starter is not None:
            starter.thread_id = thread.id
            self.emit(
                "MESSAGE_UPDATE",
                self.gateway_message_payload(starter),
                INTENT_GUILD_MESSAGES,
                starter.author_id != self.bot.id,
            )
        elif type == PUBLIC_THREAD:
            # Discord announces a thread started without a message in its parent channel.
            self.create_message(
                parent,
                author_id=owner_id,
                body={
                    "content": name,
                    "message_reference": {
                        "channel_id": str(thread.id),
                        "guild_id": str(self.guild_id),
                    },
                },
                type=MESSAGE_THREAD_CREATED,
            )
        self.notify()
        return thread

    def update_thread(self, thread: ChannelRec, body: Mapping[str, Any]) -> ChannelRec:
        if "name" in body:
            thread.name = check_thread_name(body["name"])
        if "archived" in body:
            thread.archived = bool(body["archived"])
            thread.archived_at = now_iso()
        if "locked" in body:
            thread.locked = bool(body["locked"])
        if "auto_archive_duration" in body:
            thread.auto_archive_duration = int(body["auto_archive_duration"])
        self.emit("THREAD_UPDATE", self.channel_payload(thread), INTENT_GUILDS, False)
        self.notify()
        return thread
