"""Telegram updates in, dispatcher calls out: translation only.

Every update is authorized before anything else happens with it; a refused user gets
one refusal per run (not one per message) and nothing of theirs reaches Claude. In
groups the bot listens only to commands, mentions of it and replies to it. Messages of
one chat (or topic) are handled in the order they arrived, even though PTB runs
updates concurrently: that concurrency is for button presses and ``/stop``, which must
never wait behind a chat's queue. The ordering happens in the background
(:class:`~chat_adapters.chat_queues.OrderedIntake`): a handler returns at once, so one
flooding chat never fills PTB's update slots, and commands have a lane of their own,
never behind the chat's prompts.
"""

from __future__ import annotations

import contextlib
import mimetypes
from dataclasses import dataclass

import structlog
from telegram import Bot, CallbackQuery, Message, MessageEntity, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from chat_adapters.background import BackgroundTasks
from chat_adapters.chat_input import Attachment, Sender
from chat_adapters.chat_queues import OrderedIntake
from chat_adapters.commands import parse_command
from chat_adapters.dispatch import ChatDispatcher
from chat_adapters.interactions import EXPIRED, Interactions
from chat_adapters.message_intake import Fetched, FetchFailed, IncomingMessage, take_message
from chat_adapters.recent_keys import PEOPLE_REMEMBERED, RecentKeys
from chat_adapters.surface import truncate_to
from chat_adapters.telegram.api import call_api
from chat_adapters.telegram.chat_objects import ChatObjects
from chat_adapters.telegram.surface import TelegramSurface
from chat_adapters.telegram.voice_clips import audio_clips, has_audio
from chat_adapters.text_split import utf16_length
from chat_adapters.voice import VoicePrompts
from storage import ChatKey

log = structlog.get_logger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
"""What the cloud Bot API lets a bot download."""
UNORDERED_COMMANDS = frozenset({"stop"})
"""Commands that must not wait behind the chat's earlier messages."""
CLOSE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class _Incoming:
    """A message addressed to the bot, reduced to what the dispatcher needs."""

    message: Message
    chat: ChatKey
    sender: Sender
    text: str
    command: tuple[str, str] | None


class UpdateRouter:
    """Routes one bot's updates; keeps a surface per chat/topic and an outbox per chat."""

    def __init__(
        self,
        dispatcher: ChatDispatcher,
        bot: Bot,
        interactions: Interactions,
        voice: VoicePrompts | None = None,
        notify_after_s: float | None = None,
        drafts: bool = False,
        background: BackgroundTasks | None = None,
    ) -> None:
        self.notify_after_s = notify_after_s
        self.drafts = drafts
        self.dispatcher = dispatcher
        self.voice = voice or VoicePrompts(None)
        self.bot = bot
        self.interactions = interactions
        self.background = background if background is not None else BackgroundTasks()
        self.chats = ChatObjects(
            bot,
            interactions,
            self.background,
            in_use=self._in_use,
            notify_after_s=notify_after_s,
            drafts=drafts,
        )
        self._intake = OrderedIntake("telegram")
        self._refused = RecentKeys(PEOPLE_REMEMBERED)

    def surface(self, chat_id: int, thread_id: int | None = None) -> TelegramSurface:
        """The chat's surface; only for authorized senders (see ChatObjects)."""
        return self.chats.surface(chat_id, thread_id)

    def _in_use(self, key: tuple[int, int | None]) -> bool:
        chat_id, thread_id = key
        return self.dispatcher.has_work(ChatKey.of("telegram", chat_id, thread_id))

    async def handle(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB's entry point for every update."""
        if not isinstance(update, Update):
            return
        if update.callback_query is not None:
            await self._on_press(update.callback_query)
        elif update.message is not None:
            await self._on_message(update.message)

    async def aclose(self) -> None:
        """Stop typing indicators and deliver what the outboxes hold (bounded)."""
        await self._intake.aclose(CLOSE_TIMEOUT_S)
        await self.chats.aclose(CLOSE_TIMEOUT_S)

    # -- messages ---------------------------------------------------------------------

    async def _on_message(self, message: Message) -> None:
        incoming = self._incoming(message)
        if incoming is None:
            return
        if incoming.command is not None and incoming.command[0] in UNORDERED_COMMANDS:
            await self._deliver(incoming)
            return
        lane = "message" if incoming.command is None or incoming.command[0] == "ask" else "command"
        self._intake.submit(
            (message.chat.id, _topic(message), lane), lambda: self._deliver(incoming)
        )

    def _incoming(self, message: Message) -> _Incoming | None:
        user = message.from_user
        if user is None or user.is_bot:
            return None
        text = message.text or message.caption or ""
        entities = message.entities or message.caption_entities
        command = parse_command(text, self.bot.username) if _starts_with_command(message) else None
        if text.startswith("/") and command is None and _starts_with_command(message):
            return None  # a command for another bot
        if message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP) and command is None:
            if not self._addressed(message, text, entities):
                return None
            text = self._without_mention(text, entities)
        chat = ChatKey.of("telegram", message.chat.id, _topic(message))
        return _Incoming(message, chat, _sender(user), text, command)

    async def _deliver(self, incoming: _Incoming) -> None:
        message, chat, sender = incoming.message, incoming.chat, incoming.sender
        action = _action(incoming)
        if not await self.dispatcher.authorize(sender, chat, action):
            await self._refuse(message, sender)
            return
        surface = self.surface(message.chat.id, _topic(message))
        surface.saw(message.message_id)
        if incoming.command is not None:
            name, args = incoming.command
            await self.dispatcher.on_command(surface, chat, sender, name, args)
            return

        def on_prompt() -> None:
            if not surface.waiting_for_text:
                # "typing…" at once: the turn's first output is a CLI start-up away.
                self.background.spawn(surface.show_typing(), name=f"{surface.surface_id}-typing")
            surface.prompt_id = message.message_id

        async def fetch_files() -> Fetched:
            return list(await self._attachments(message)), []

        audio = audio_clips(message, self._download) if has_audio(message) else ()
        incoming_message = IncomingMessage(
            surface,
            chat,
            sender,
            incoming.text,
            str(message.message_id),
            audio=audio,
            fetch_files=fetch_files,
            has_files=bool(message.photo or message.document),
            unusable=_unusable_kind(message),
        )
        await take_message(
            incoming_message, self.dispatcher, self.interactions, self.voice, on_prompt=on_prompt
        )

    async def _refuse(self, message: Message, sender: Sender) -> None:
        """Once per person, sent directly: nothing per chat is kept for strangers."""
        if not self._refused.first(sender.user_id):
            return
        text = self.dispatcher.refusal_text
        with contextlib.suppress(TelegramError):
            await call_api(
                lambda: self.bot.send_message(
                    message.chat.id, text, message_thread_id=_topic(message)
                )
            )

    def _addressed(self, message: Message, text: str, entities: tuple[MessageEntity, ...]) -> bool:
        """In a group: a mention of the bot, or a reply to one of its messages."""
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == self.bot.id:
            return True
        return bool(self._mentions(text, entities))

    def _mentions(self, text: str, entities: tuple[MessageEntity, ...]) -> list[MessageEntity]:
        name = f"@{self.bot.username}".casefold()
        return [
            e
            for e in entities
            if e.type == MessageEntity.MENTION and _slice(text, e).casefold() == name
        ]

    def _without_mention(self, text: str, entities: tuple[MessageEntity, ...]) -> str:
        for entity in sorted(self._mentions(text, entities), key=lambda e: -e.offset):
            start = len(text.encode("utf-16-le")[: 2 * entity.offset].decode("utf-16-le"))
            end = start + len(_slice(text, entity))
            before, after = text[:start].rstrip(" "), text[end:].lstrip(" ")
            text = f"{before} {after}" if before and after else before + after
        return text.strip()

    async def _attachments(self, message: Message) -> tuple[Attachment, ...]:
        if message.photo:
            largest = message.photo[-1]
            data = await self._download(largest.file_id, largest.file_size, "photo")
            media_type = _image_type(data)
            extension = mimetypes.guess_extension(media_type) or ".jpg"
            name = f"photo-{largest.file_unique_id}{extension}"
            return (Attachment("image", name, data, media_type),)
        if message.document:
            document = message.document
            data = await self._download(document.file_id, document.file_size, "file")
            name = document.file_name or f"file-{document.file_unique_id}"
            media_type = (
                document.mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
            )
            return (Attachment("document", name, data, media_type),)
        return ()

    async def _download(self, file_id: str, size: int | None, what: str) -> bytes:
        if size is not None and size > MAX_DOWNLOAD_BYTES:
            raise FetchFailed(
                f"Your {what} is {size / 1e6:.1f} MB; bots can fetch at most "
                f"{MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB."
            )
        try:
            file = await call_api(lambda: self.bot.get_file(file_id))
            return bytes(await call_api(file.download_as_bytearray))
        except TelegramError as exc:
            log.warning("telegram_download_failed", error=repr(exc))
            raise FetchFailed(f"Could not fetch your {what} ({exc.message}).") from exc

    # -- button presses ---------------------------------------------------------------

    async def _on_press(self, query: CallbackQuery) -> None:
        message = query.message
        if message is None:
            with contextlib.suppress(TelegramError):
                await query.answer(EXPIRED)
            return
        thread_id = message.message_thread_id if isinstance(message, Message) else None
        if isinstance(message, Message) and not message.is_topic_message:
            thread_id = None
        chat = ChatKey.of("telegram", message.chat.id, thread_id)
        sender = _sender(query.from_user)
        # An allowed user's press is decided and audited by the press gate, with what
        # was pressed; a stranger's is refused and audited here.
        if not self.dispatcher.is_allowed(sender):
            await self.dispatcher.authorize(sender, chat, "button")
            text = truncate_to(self.dispatcher.refusal_text, 200, utf16_length)
            with contextlib.suppress(TelegramError):
                await query.answer(text, show_alert=True)
            return
        await self.surface(message.chat.id, thread_id).on_button(query)


def _topic(message: Message) -> int | None:
    """The forum topic a message belongs to (reply threads in plain groups are not)."""
    return message.message_thread_id if message.is_topic_message else None


def _starts_with_command(message: Message) -> bool:
    entities = message.entities or message.caption_entities
    return any(e.type == MessageEntity.BOT_COMMAND and e.offset == 0 for e in entities)


def _sender(user: User) -> Sender:
    mention = f"@{user.username}" if user.username else user.full_name
    return Sender("telegram", str(user.id), user.full_name, mention)


_UNUSABLE = (
    "video", "animation", "sticker", "venue", "location", "contact", "poll", "dice", "game",
    "story",
)  # fmt: skip
"""Voice notes, audio and video notes are not here: they are transcribed (chat_adapters.voice)."""


def _unusable_kind(message: Message) -> str | None:
    """What the message carries that the bot cannot use (None: text, photo, file)."""
    return next((kind for kind in _UNUSABLE if getattr(message, kind, None)), None)


def _action(incoming: _Incoming) -> str:
    if incoming.command is not None:
        return f"/{incoming.command[0]}"
    unusable = _unusable_kind(incoming.message)
    if unusable is not None:
        return unusable
    if incoming.message.photo:
        return "photo"
    if incoming.message.document:
        return "document"
    if has_audio(incoming.message):
        return "voice"
    return "text"


def _slice(text: str, entity: MessageEntity) -> str:
    raw = text.encode("utf-16-le")[2 * entity.offset : 2 * (entity.offset + entity.length)]
    return raw.decode("utf-16-le", errors="replace")


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _image_type(data: bytes) -> str:
    """What the bytes are (Telegram photos are JPEG, but a local server may differ)."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"
