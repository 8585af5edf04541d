"""A fake Telegram Bot API server at the wire, for end-to-end tests of real PTB.

Why a server and not a mock: python-telegram-bot checks almost none of Telegram's limits
on the client side, so only a server that enforces them (4096 UTF-16 units per text,
1-64 bytes of callback data, flood control with ``retry_after``) lets a test catch what
production would reject. It speaks HTTP on 127.0.0.1 exactly where PTB expects
api.telegram.org::

    async with FakeTelegram() as tg:
        app = (ApplicationBuilder().token(tg.token)
               .base_url(tg.root_url + "/bot").base_file_url(tg.root_url + "/file/bot")
               .build())

The server runs in the test's own event loop. The test plays the users
(:meth:`FakeTelegram.send_user_message`, :meth:`FakeTelegram.press_button`) and reads what
the bot shows *now* (:meth:`FakeTelegram.transcript`: text after edits, keyboards,
deleted flags), which calls it made and when (:meth:`FakeTelegram.calls`), and how often
flood control answered 429 (:meth:`FakeTelegram.count_429`). Every wait is bounded.

Error texts follow Telegram's where known; a few (marked "fake:") are this fake's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import mimetypes
import re
import struct
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)

T = TypeVar("T")
JSONDict = dict[str, Any]
ChatType = Literal["private", "group", "supergroup"]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_TEXT = 200
MAX_BUTTONS = 100
MAX_COMMANDS = 100
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_RECHECK_S = 0.05
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request;"
    " make sure that only one bot instance is running"
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_MENTION_RE = re.compile(r"@[A-Za-z0-9_]{5,32}")
ENTITY_TYPES = frozenset(
    {
        "blockquote", "bold", "bot_command", "cashtag", "code", "custom_emoji", "date_time",
        "email", "expandable_blockquote", "hashtag", "italic", "mention", "phone_number", "pre",
        "spoiler", "strikethrough", "text_link", "text_mention", "underline", "url",
    }
)  # fmt: skip
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
# The emoji Telegram accepts as reactions; anything else (✅ included) is REACTION_INVALID.
REACTION_EMOJI = frozenset(
    {
        "❤", "👍", "👎", "🔥", "🥰", "👏", "😁", "🤔", "🤯", "😱", "🤬", "😢",
        "🎉", "🤩", "🤮", "💩", "🙏", "👌", "🕊", "🤡", "🥱", "🥴", "😍", "🐳",
        "❤️\u200d🔥", "🌚", "🌭", "💯", "🤣", "⚡", "🍌", "🏆", "💔", "🤨", "😐", "🍓",
        "🍾", "💋", "🖕", "😈", "😴", "😭", "🤓", "👻", "👨\u200d💻", "👀", "🎃", "🙈",
        "😇", "😨", "🤝", "✍", "🤗", "🫡", "🎅", "🎄", "☃", "💅", "🤪", "🗿",
        "🆒", "💘", "🙉", "🦄", "😘", "💊", "🙊", "😎", "👾", "🤷\u200d♂️", "🤷", "🤷\u200d♀️",
        "😡",
    }
)  # fmt: skip
_BUTTON_ACTIONS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
# Parameters Telegram defines as strings: never JSON-decode them ("123" stays a string).
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "file_id", "action", "url",
        "description", "short_description", "title", "name", "emoji", "language_code",
        "business_connection_id", "message_effect_id", "inline_message_id", "document",
        "photo", "secret_token", "ip_address",
    }
)  # fmt: skip
# A valid 1x1 PNG: the thumbnail size of every photo a fake user sends.
_THUMB_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: what Telegram counts for limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of ``text`` an entity (offset, length in UTF-16 units) covers."""
    raw = text.encode("utf-16-le")[2 * offset : 2 * (offset + length)]
    return raw.decode("utf-16-le", errors="replace")


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file the fake holds: sent by a test user, or uploaded by the bot."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = field(repr=False)
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class UploadedPart:
    """A multipart file part as it arrived (recorded in :class:`ApiCall` params)."""

    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Button:
    """One inline keyboard button, as the user sees it."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message in a chat as it stands now (after edits); ``deleted`` ones are kept."""

    chat_id: int
    message_id: int
    sender_id: int
    from_bot: bool
    date: int
    text: str | None = None
    entities: tuple[JSONDict, ...] = ()
    caption: str | None = None
    caption_entities: tuple[JSONDict, ...] = ()
    reply_markup: JSONDict | None = None
    thread_id: int | None = None
    reply_to: int | None = None
    photo: StoredFile | None = None
    document: StoredFile | None = None
    voice: StoredFile | None = None
    audio: StoredFile | None = None
    video_note: StoredFile | None = None
    edit_date: int | None = None
    edits: int = 0
    deleted: bool = False
    reaction: tuple[str, ...] = ()

    @property
    def body(self) -> str:
        """Text, or caption for media messages, or ``""``."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def buttons(self) -> tuple[tuple[Button, ...], ...]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return tuple(
            tuple(Button(b["text"], b.get("callback_data"), b.get("url")) for b in row)
            for row in rows
        )

    def button(self, label: str) -> Button:
        """The button whose text contains ``label``; LookupError if none or several."""
        found = [b for row in self.buttons for b in row if label in b.text]
        if len(found) != 1:
            raise LookupError(f"{len(found)} buttons match {label!r} in {self.buttons!r}")
        return found[0]

    def entity_texts(self, entity_type: str) -> list[str]:
        """The substrings covered by entities of one type, e.g. ``"code"``."""
        entities = self.entities if self.text is not None else self.caption_entities
        return [
            utf16_slice(self.body, e["offset"], e["length"])
            for e in entities
            if e["type"] == entity_type
        ]


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One request, recorded when it arrived; ``status`` is None while in flight."""

    seq: int
    method: str
    params: Mapping[str, Any]
    at: float
    status: int | None = None
    description: str | None = None
    result: Any = None

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True, slots=True)
class ChatActionSent:
    chat_id: int
    action: str
    thread_id: int | None
    at: float


@dataclass(frozen=True, slots=True)
class ReactionSet:
    chat_id: int
    message_id: int
    emoji: tuple[str, ...]
    is_big: bool
    at: float


@dataclass(frozen=True, slots=True)
class DraftSent:
    chat_id: int
    draft_id: int
    text: str
    entities: tuple[JSONDict, ...]
    thread_id: int | None
    at: float


@dataclass(frozen=True, slots=True)
class CallbackPress:
    """A button press the fake queued as a ``callback_query`` update."""

    query_id: str
    update_id: int
    chat_id: int
    message_id: int
    user_id: int
    data: str


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    at: float


# ----------------------------------------------------------------------------- flood control


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Flood-control settings. Defaults approximate Telegram's documented limits."""

    enabled: bool = True
    per_chat_per_s: float = 1.0
    per_chat_burst: int = 4
    per_group_per_min: float = 20.0
    per_group_burst: int = 20
    global_per_s: float = 30.0
    global_burst: int = 30
    counted_methods: frozenset[str] = frozenset(
        {"sendMessage", "editMessageText", "sendDocument", "sendPhoto"}
    )


class _Bucket:
    """Token bucket: ``capacity`` tokens, refilled at ``rate`` per second."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, capacity: int, rate: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = rate
        self.tokens = float(capacity)
        self.stamp = now

    def wait(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class FloodControl:
    """Per-chat, per-group and global token buckets, a 429 storm switch and 429 counts.

    Only methods in ``counted_methods`` count; a request answered 429 takes no token.
    """

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._storm_left = 0
        self._storm_retry_after = 1
        self._storm_chat: int | None = None
        self.too_many_requests: Counter[int] = Counter()

    def configure(self, limits: RateLimits) -> None:
        """Replace the limits and start every bucket full."""
        self.limits = limits
        self._buckets.clear()

    def storm(self, count: int, *, retry_after: int = 1, chat_id: int | None = None) -> None:
        """Answer the next ``count`` counted sends (to ``chat_id``, or any chat) with 429."""
        self._storm_left = count
        self._storm_retry_after = retry_after
        self._storm_chat = chat_id

    @property
    def storm_left(self) -> int:
        return self._storm_left

    def check(self, method: str, chat_id: int) -> None:
        """Take a token for this send, or raise the 429 Telegram would answer."""
        limits = self.limits
        if method not in limits.counted_methods:
            return
        if self._storm_left > 0 and self._storm_chat in (None, chat_id):
            self._storm_left -= 1
            self._refuse(chat_id, self._storm_retry_after)
        if not limits.enabled:
            return
        now = self._clock()
        buckets = [self._bucket("chat", chat_id, limits.per_chat_burst, limits.per_chat_per_s)]
        if chat_id < 0:
            rate = limits.per_group_per_min / 60.0
            buckets.append(self._bucket("group", chat_id, limits.per_group_burst, rate))
        buckets.append(self._bucket("global", 0, limits.global_burst, limits.global_per_s))
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait > 0:
            self._refuse(chat_id, max(1, math.ceil(wait)))
        for bucket in buckets:
            bucket.tokens -= 1.0

    def _bucket(self, kind: str, key: int, capacity: int, rate: float) -> _Bucket:
        bucket = self._buckets.get((kind, key))
        if bucket is None:
            bucket = self._buckets[(kind, key)] = _Bucket(capacity, rate, self._clock())
        return bucket

    def _refuse(self, chat_id: int, retry_after: int) -> None:
        self.too_many_requests[chat_id] += 1
        raise ApiError(
            429,
            f"Too Many Requests: retry after {retry_after}",
            {"retry_after": retry_after},
        )


# ----------------------------------------------------------------------------- params


class _Params:
    """Decoded request parameters with typed getters that fail like Telegram does."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def opt_int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _bad(f"invalid {name} specified")
        try:
            return int(value)
        except ValueError:
            raise _bad(f"invalid {name} specified") from None

    def req_int(self, name: str) -> int:
        value = self.opt_int(name)
        if value is None:
            raise _bad(f"{name} is empty")
        return value

    def opt_str(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else str(value)

    def opt_bool(self, name: str) -> bool:
        return self.values.get(name) in (True, "true", "True", "1", 1)

    def opt_json(self, name: str) -> Any:
        """A JSON-valued parameter: PTB sends it JSON-encoded inside the form."""
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _bad(f"can't parse {name} JSON object") from None
        return value

    def chat_id(self) -> int:
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise _bad("chat_id is empty")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None


def _decode_form_value(name: str, raw: str) -> Any:
    if name in _STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (the only format tests send); a plausible default else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return 1280, 960


# ----------------------------------------------------------------------------- the server


class FakeTelegram:
    """The fake Bot API: an aiohttp server on 127.0.0.1 plus the test-side controls."""

    def __init__(
        self,
        *,
        token: str = "123456789:TEST-baton-fake-token",
        bot_username: str = "baton_test_bot",
        rate_limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        privacy_mode: bool = False,
        first_update_id: int = 1,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.privacy_mode = privacy_mode
        self._clock = clock
        self._wall_clock = wall_clock
        self.flood = FloodControl(rate_limits or RateLimits(), clock)
        self.bot_user: JSONDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Baton Test Bot",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": not privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._runner: web.AppRunner | None = None
        self._root_url: str | None = None
        self._outage_left = 0
        self._outage_status = 502
        self._outage_methods: frozenset[str] = frozenset()
        self._closing = False
        self._waiters: set[asyncio.Future[None]] = set()
        # updates
        self._pending: list[JSONDict] = []
        self._next_update_id = first_update_id
        self._deliveries: Counter[int] = Counter()
        self._poll_generation = 0
        self._webhook_url = ""
        self.dropped_updates = 0
        # chats and messages
        self._chats: dict[int, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._messages: dict[int, dict[int, ChatMessage]] = {}
        self._last_message_id: Counter[int] = Counter()
        self._files: dict[str, StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._query_seq = itertools.count(1)
        # what the bot did
        self._calls: list[ApiCall] = []
        self.call_counts: Counter[str] = Counter()
        self.chat_actions: list[ChatActionSent] = []
        self.reactions: list[ReactionSet] = []
        self.drafts: list[DraftSent] = []
        self.callback_presses: dict[str, CallbackPress] = {}
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.downloads: list[str] = []  # file_ids fetched from /file/bot<token>/<path>
        self._commands: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        self.internal_errors: list[BaseException] = []
        handlers: dict[str, Callable[[_Params], Any]] = {
            "getMe": lambda p: self.bot_user,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setMessageReaction": self._set_message_reaction,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "sendMessageDraft": self._send_message_draft,
        }
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
        if exc is None and self.internal_errors:
            raise AssertionError(f"fake Telegram failed internally: {self.internal_errors!r}")

    async def start(self) -> None:
        """Listen on 127.0.0.1 with a free port; the URL is :attr:`root_url`."""
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._root_url = f"http://{host}:{port}"

    async def aclose(self) -> None:
        """Answer pending long polls, then stop; bounded by aiohttp's 1 s shutdown timeout."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:<port>``: what ``TELEGRAM_API_URL`` should be."""
        if self._root_url is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._root_url

    # ------------------------------------------------------------------ test side: users act

    def add_chat(
        self,
        chat_id: int,
        chat_type: ChatType = "private",
        *,
        title: str | None = None,
        is_forum: bool = False,
    ) -> JSONDict:
        """Make a chat known (the bot gets 'chat not found' for unknown ones)."""
        existing = self._chats.get(chat_id)
        if existing is not None:
            if existing["type"] != chat_type:
                raise ValueError(f"chat {chat_id} is a {existing['type']}, not {chat_type}")
            if is_forum:
                existing["is_forum"] = True
            return existing
        if chat_type == "private":
            if chat_id <= 0:
                raise ValueError("a private chat id is the user's (positive) id")
            user = self._user(chat_id)
            chat: JSONDict = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            chat["username"] = user["username"]
        else:
            if chat_id >= 0:
                raise ValueError("group and supergroup chat ids are negative")
            chat = {"id": chat_id, "type": chat_type, "title": title or f"Group {-chat_id}"}
            if is_forum:
                chat["is_forum"] = True
        self._chats[chat_id] = chat
        self._messages[chat_id] = {}
        return chat

    def send_user_message(
        self,
        chat_id: int,
        user_id: int,
        text: str = "",
        *,
        chat_type: ChatType = "private",
        thread_id: int | None = None,
        reply_to: int | ChatMessage | None = None,
        photo: bytes | None = None,
        document: bytes | tuple[str, bytes] | None = None,
        entities: Sequence[JSONDict] | None = None,
        voice: bytes | None = None,
        audio: tuple[str, bytes] | None = None,
        video_note: bytes | None = None,
        duration: int = 2,
    ) -> ChatMessage:
        """A user writes to the bot: stores the message and queues a ``message`` update.

        A leading ``/command`` gets a ``bot_command`` entity and ``@username`` tokens get
        ``mention`` entities (unless ``entities`` is given). With ``photo`` or ``document``
        the text becomes the caption. In a private chat ``chat_id`` must equal ``user_id``.
        """
        if chat_type == "private" and chat_id != user_id:
            raise ValueError("in a private chat, chat_id is the user's id")
        sounds = (voice, audio, video_note)
        if not text and photo is None and document is None and all(x is None for x in sounds):
            raise ValueError("Telegram has no empty messages: give text, photo or document")
        self.add_chat(chat_id, chat_type, is_forum=thread_id is not None)
        self._user(user_id)
        found = list(entities) if entities is not None else self._auto_entities(text)
        reply_id = reply_to.message_id if isinstance(reply_to, ChatMessage) else reply_to
        if reply_id is not None:
            self._message(chat_id, reply_id, "fake: reply_to message not found")
        stored_photo = stored_document = None
        if photo is not None:
            width, height = _image_size(photo)
            png = photo.startswith(b"\x89PNG")
            stored_photo = self.store_file(
                photo,
                kind="photos",
                suffix=".png" if png else ".jpg",
                mime_type="image/png" if png else "image/jpeg",
                width=width,
                height=height,
            )
        if document is not None:
            name, data = document if isinstance(document, tuple) else ("document.bin", document)
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            stored_document = self.store_file(
                data, kind="documents", file_name=name, mime_type=mime
            )
        stored_voice = stored_audio = stored_video_note = None
        if voice is not None:
            stored_voice = self.store_file(
                voice, kind="voice", suffix=".oga", mime_type="audio/ogg", duration=duration
            )
        if audio is not None:
            name, data = audio
            mime = mimetypes.guess_type(name)[0] or "audio/mpeg"
            stored_audio = self.store_file(
                data, kind="music", file_name=name, mime_type=mime, duration=duration
            )
        if video_note is not None:
            stored_video_note = self.store_file(
                video_note, kind="video_notes", suffix=".mp4", duration=duration
            )
        media = any(
            x is not None
            for x in (stored_photo, stored_document, stored_voice, stored_audio, stored_video_note)
        )
        msg = ChatMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            sender_id=user_id,
            from_bot=False,
            date=int(self._wall_clock()),
            text=None if media else text,
            entities=() if media else tuple(found),
            caption=(text or None) if media else None,
            caption_entities=tuple(found) if media else (),
            thread_id=thread_id,
            reply_to=reply_id,
            photo=stored_photo,
            document=stored_document,
            voice=stored_voice,
            audio=stored_audio,
            video_note=stored_video_note,
        )
        self._messages[chat_id][msg.message_id] = msg
        if self._reaches_bot(msg, found):
            self._enqueue({"message": self._message_json(msg)})
        self._notify()
        return msg

    def press_button(
        self,
        message: ChatMessage | int,
        callback_data: str | None = None,
        user_id: int | None = None,
        *,
        chat_id: int | None = None,
        label: str | None = None,
    ) -> CallbackPress:
        """A user taps a button of the message's *current* keyboard (by data or label).

        Raises LookupError if the message is gone or has no such button: a real user
        could not tap it either. ``user_id`` defaults to the chat id (private chats).
        """
        msg = self._current(message, chat_id)
        if msg.deleted:
            raise LookupError(f"message {msg.message_id} in chat {msg.chat_id} was deleted")
        if label is not None:
            data = msg.button(label).callback_data
        else:
            buttons = [b for row in msg.buttons for b in row]
            data = callback_data if any(b.callback_data == callback_data for b in buttons) else None
        if data is None:
            raise LookupError(f"no button {label or callback_data!r} on {msg.buttons!r}")
        user = user_id if user_id is not None else msg.chat_id
        if user <= 0:
            raise ValueError("user_id is required in a group chat")
        query_id = str(4_000_000_000_000_000 + next(self._query_seq))
        update = {
            "callback_query": {
                "id": query_id,
                "from": self._user(user),
                "message": self._message_json(msg),
                "chat_instance": str(msg.chat_id),
                "data": data,
            }
        }
        update_id = self._enqueue(update)
        press = CallbackPress(query_id, update_id, msg.chat_id, msg.message_id, user, data)
        self.callback_presses[query_id] = press
        self._notify()
        return press

    def outage(
        self,
        count: int,
        *,
        status: int = 502,
        methods: Sequence[str] = ("sendMessage", "editMessageText"),
    ) -> None:
        """Answer the next ``count`` calls of ``methods`` with a 5xx, as Telegram's
        front end does during an incident."""
        self._outage_left = count
        self._outage_status = status
        self._outage_methods = frozenset(methods)

    def queue_update(self, update: Mapping[str, Any]) -> int:
        """Queue a raw update; ``update_id`` is assigned (or checked to be increasing)."""
        raw = dict(update)
        given = raw.pop("update_id", None)
        if given is not None:
            if given < self._next_update_id:
                raise ValueError(f"update_id {given} < next {self._next_update_id}")
            self._next_update_id = given
        update_id = self._enqueue(raw)
        self._notify()
        return update_id

    def store_file(
        self,
        data: bytes,
        *,
        kind: str = "documents",
        suffix: str = "",
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
        duration: int | None = None,
    ) -> StoredFile:
        """Keep a file so ``getFile`` and the download URL can serve it."""
        n = next(self._file_seq)
        ext = suffix or (
            f".{file_name.rsplit('.', 1)[1]}" if file_name and "." in file_name else ""
        )
        stored = StoredFile(
            file_id=f"BQAC-fake-{n:06d}",
            file_unique_id=f"AgAD{n:06d}",
            file_path=f"{kind}/file_{n}{ext}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
            duration=duration,
        )
        self._files[stored.file_id] = stored
        return stored

    # ------------------------------------------------------------------ test side: inspect

    def transcript(
        self, chat_id: int, *, thread_id: int | None = None, include_deleted: bool = False
    ) -> list[ChatMessage]:
        """Every message of the chat (users' and bot's) as it stands now, oldest first.

        ``thread_id=None`` means every thread; deleted messages only on request.
        """
        messages = self._messages.get(chat_id, {}).values()
        return [
            m
            for m in messages
            if (include_deleted or not m.deleted) and thread_id in (None, m.thread_id)
        ]

    def sent_messages(self, chat_id: int, *, thread_id: int | None = None) -> list[ChatMessage]:
        """The bot's messages in the chat, deleted ones included (see ``deleted``)."""
        return [
            m
            for m in self.transcript(chat_id, thread_id=thread_id, include_deleted=True)
            if m.from_bot
        ]

    def message(self, chat_id: int, message_id: int) -> ChatMessage:
        """One message as it stands now; KeyError if it never existed."""
        return self._messages[chat_id][message_id]

    def render(self, chat_id: int) -> str:
        """The chat as readable lines, for assertion messages."""
        lines = []
        for m in self.transcript(chat_id, include_deleted=True):
            who = "bot" if m.from_bot else f"user {m.sender_id}"
            flags = [f"thread {m.thread_id}"] if m.thread_id is not None else []
            flags += [f"edited {m.edits}x"] if m.edits else []
            flags += ["DELETED"] if m.deleted else []
            keys = " ".join(f"[{b.text}|{b.callback_data}]" for row in m.buttons for b in row)
            lines.append(f"#{m.message_id} {who} {' '.join(flags)}: {m.body!r} {keys}".rstrip())
        return "\n".join(lines) or "(empty chat)"

    def mark(self) -> int:
        """A position in the call log, for ``calls(since=...)``."""
        return len(self._calls)

    def calls(self, method: str | None = None, *, since: int = 0) -> list[ApiCall]:
        """Requests in arrival order (optionally one method's, after a :meth:`mark`)."""
        return [c for c in self._calls[since:] if method is None or c.method == method]

    def count_429(self, chat_id: int | None = None) -> int:
        """How many requests flood control refused (in one chat, or in all)."""
        counts = self.flood.too_many_requests
        return counts[chat_id] if chat_id is not None else sum(counts.values())

    def deliveries(self, update_id: int) -> int:
        """How many ``getUpdates`` answers carried this update (>1 means redelivered)."""
        return self._deliveries[update_id]

    @property
    def pending_update_count(self) -> int:
        """Updates queued but not yet confirmed by a later ``offset``."""
        return len(self._pending)

    @property
    def bot_commands(self) -> dict[str, str]:
        """Commands registered with ``setMyCommands`` for the default scope, no language."""
        return dict(self.commands_for())

    def commands_for(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> tuple[tuple[str, str], ...]:
        key = (_canonical(dict(scope or {"type": "default"})), language_code)
        return self._commands.get(key, ())

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

    # ------------------------------------------------------------------ test side: wait

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
        what: str = "",
    ) -> T:
        """Wait until ``predicate()`` is truthy and return it; re-checked on every change.

        Raises TimeoutError naming ``what`` after ``timeout`` seconds.
        """
        try:
            async with asyncio.timeout(timeout):
                while True:
                    value = predicate()
                    if value:
                        return value
                    # Woken by any change here; the short cap also catches predicates on
                    # state outside the fake (a handler's own list, a file on disk).
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(_RECHECK_S):
                            await self._changed()
        except TimeoutError:
            recent = [f"{c.method}:{c.status}" for c in self._calls[-12:]]
            raise TimeoutError(
                f"fake Telegram: no {what or 'match'} within {timeout}s; last calls {recent}"
            ) from None

    async def wait_for_message(
        self,
        chat_id: int,
        *,
        contains: str | None = None,
        match: Callable[[ChatMessage], bool] | None = None,
        thread_id: int | None = None,
        after: int = 0,
        from_bot: bool = True,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> ChatMessage:
        """The oldest visible message with id > ``after`` whose current body matches."""

        def find() -> ChatMessage | None:
            for m in self.transcript(chat_id, thread_id=thread_id):
                if m.message_id <= after or m.from_bot != from_bot:
                    continue
                if contains is not None and contains not in m.body:
                    continue
                if match is None or match(m):
                    return m
            return None

        try:
            return await self.wait_for(find, timeout=timeout)
        except TimeoutError:
            raise TimeoutError(
                f"fake Telegram: no message matching {contains!r} in chat {chat_id}"
                f" within {timeout}s; the chat now:\n{self.render(chat_id)}"
            ) from None

    async def wait_for_call(
        self,
        method: str,
        *,
        match: Callable[[ApiCall], bool] | None = None,
        since: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> ApiCall:
        """The first call of ``method`` (after ``since``) that matches, once it arrived."""

        def find() -> ApiCall | None:
            return next((c for c in self.calls(method, since=since) if not match or match(c)), None)

        return await self.wait_for(find, timeout=timeout, what=f"{method} call")

    async def wait_for_callback_answer(
        self,
        press: CallbackPress | str,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        query_id = press.query_id if isinstance(press, CallbackPress) else press
        return await self.wait_for(
            lambda: self.callback_answers.get(query_id),
            timeout=timeout,
            what=f"answerCallbackQuery for {query_id}",
        )

    async def wait_until_confirmed(self, update_id: int, *, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot confirmed the update (asked with a higher ``offset``)."""
        await self.wait_for(
            lambda: all(u["update_id"] > update_id for u in self._pending),
            timeout=timeout,
            what=f"confirmation of update {update_id}",
        )

    async def _changed(self) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(future)
        try:
            await future
        finally:
            self._waiters.discard(future)

    def _notify(self) -> None:
        for future in self._waiters:
            if not future.done():
                future.set_result(None)
        self._waiters.clear()

    # ------------------------------------------------------------------ HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method, handler = self._handlers.get(name.lower(), (name, None))
        try:
            values = await self._read_params(request)
        except ValueError:
            values = {}
        seq = len(self._calls)
        self._calls.append(ApiCall(seq, method, values, self._clock()))
        self.call_counts[method] += 1
        self._notify()
        status, body = 200, {}
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if self._outage_left > 0 and method in self._outage_methods:
                self._outage_left -= 1
                raise ApiError(self._outage_status, "Bad Gateway")
            if handler is None:
                result: Any = True
            else:
                result = handler(_Params(values))
                if isinstance(result, Awaitable):
                    result = await result
            body = {"ok": True, "result": result}
        except ApiError as err:
            status, body = err.status, err.payload()
        except asyncio.CancelledError:
            self._finish(seq, 499, "fake: client went away", None)
            raise
        except Exception as err:
            log.exception("fake_telegram.internal_error", method=method)
            self.internal_errors.append(err)
            status = 500
            body = {"ok": False, "error_code": 500, "description": f"fake: {err!r}"}
        self._finish(seq, status, body.get("description"), body.get("result"))
        return web.json_response(body, status=status)

    def _finish(self, seq: int, status: int, description: str | None, result: Any) -> None:
        self._calls[seq] = replace(
            self._calls[seq], status=status, description=description, result=result
        )
        self._notify()

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, Any]:
        values: dict[str, Any] = {k: _decode_form_value(k, v) for k, v in request.query.items()}
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                values.update(body)
            return values
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                values[key] = UploadedPart(value.filename, value.content_type, value.file.read())
            elif isinstance(value, str):
                values[key] = _decode_form_value(key, value)
            else:
                values[key] = _decode_form_value(key, value.decode())
        return values

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        path = request.match_info["path"]
        stored = next((f for f in self._files.values() if f.file_path == path), None)
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        self.downloads.append(stored.file_id)
        self._notify()
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)

    # ------------------------------------------------------------------ updates

    def _enqueue(self, update: JSONDict) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._pending.append({"update_id": update_id, **update})
        return update_id

    async def _get_updates(self, p: _Params) -> list[JSONDict]:
        if self._webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = p.opt_int("offset") or 0
        limit = min(max(p.opt_int("limit") or 100, 1), 100)
        timeout = float(p.values.get("timeout") or 0)
        allowed = p.opt_json("allowed_updates") or []
        self._poll_generation += 1
        generation = self._poll_generation
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        self._notify()  # confirmations may satisfy wait_until_confirmed; older polls lose
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = [u for u in self._pending if not allowed or _update_type(u) in allowed]
            batch = batch[:limit]
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                break
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_POLL)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._changed()
        for update in batch:
            self._deliveries[update["update_id"]] += 1
        return batch

    def _delete_webhook(self, p: _Params) -> bool:
        self._webhook_url = ""
        if p.opt_bool("drop_pending_updates"):
            self.dropped_updates += len(self._pending)
            self._pending.clear()
        return True

    def _set_webhook(self, p: _Params) -> bool:
        self._webhook_url = p.opt_str("url") or ""
        if p.opt_bool("drop_pending_updates"):
            self.dropped_updates += len(self._pending)
            self._pending.clear()
        return True

    def _get_webhook_info(self, p: _Params) -> JSONDict:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    def _reaches_bot(self, msg: ChatMessage, entities: Iterable[JSONDict]) -> bool:
        """Privacy mode: in groups only commands, mentions of the bot and replies to it."""
        if not self.privacy_mode or msg.chat_id > 0:
            return True
        if msg.body.startswith("/"):
            return True
        mention = f"@{self.bot_username}"
        if any(
            e["type"] == "mention" and utf16_slice(msg.body, e["offset"], e["length"]) == mention
            for e in entities
        ):
            return True
        target = self._messages[msg.chat_id].get(msg.reply_to or 0)
        return target is not None and target.from_bot

    # ------------------------------------------------------------------ commands

    def _set_my_commands(self, p: _Params) -> bool:
        commands = p.opt_json("commands")
        if not isinstance(commands, list):
            raise _bad("fake: commands must be a JSON array")
        if len(commands) > MAX_COMMANDS:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        pairs: list[tuple[str, str]] = []
        for item in commands:
            command = item.get("command") if isinstance(item, dict) else None
            description = item.get("description") if isinstance(item, dict) else None
            if not isinstance(command, str) or not _COMMAND_RE.fullmatch(command):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            pairs.append((command, description))
        self._commands[self._commands_key(p)] = tuple(pairs)
        return True

    def _get_my_commands(self, p: _Params) -> list[JSONDict]:
        pairs = self._commands.get(self._commands_key(p), ())
        return [{"command": c, "description": d} for c, d in pairs]

    def _delete_my_commands(self, p: _Params) -> bool:
        self._commands.pop(self._commands_key(p), None)
        return True

    @staticmethod
    def _commands_key(p: _Params) -> tuple[str, str]:
        scope = p.opt_json("scope") or {"type": "default"}
        return _canonical(scope), p.opt_str("language_code") or ""

    # ------------------------------------------------------------------ messages

    def _send_message(self, p: _Params) -> JSONDict:
        chat_id = self._known_chat(p)
        text = self._text(p, "text", MAX_TEXT)
        entities = self._entities(p, "entities", text)
        markup = self._markup(p)
        thread_id = p.opt_int("message_thread_id")
        reply_to = self._reply_target(p, chat_id)
        self.flood.check("sendMessage", chat_id)
        msg = self._store_bot_message(
            chat_id, thread_id, reply_to, text=text, entities=entities, reply_markup=markup
        )
        return self._message_json(msg)

    def _edit_message_text(self, p: _Params) -> JSONDict:
        old = self._editable(p)
        if old.text is None:
            raise _bad("there is no text in the message to edit")
        text = self._text(p, "text", MAX_TEXT)
        entities = self._entities(p, "entities", text)
        markup = self._markup(p)
        if (text, _canonical(entities), _canonical(markup)) == (
            old.text,
            _canonical(old.entities),
            _canonical(old.reply_markup),
        ):
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        self.flood.check("editMessageText", old.chat_id)
        new = self._edited(old, text=text, entities=entities, reply_markup=markup)
        return self._message_json(new)

    def _edit_message_reply_markup(self, p: _Params) -> JSONDict:
        old = self._editable(p)
        markup = self._markup(p)
        if _canonical(markup) == _canonical(old.reply_markup):
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        self.flood.check("editMessageReplyMarkup", old.chat_id)
        return self._message_json(self._edited(old, reply_markup=markup))

    def _delete_message(self, p: _Params) -> bool:
        chat_id = self._known_chat(p)
        msg = self._message(chat_id, p.req_int("message_id"), "message to delete not found")
        self._messages[chat_id][msg.message_id] = replace(msg, deleted=True)
        return True

    def _delete_messages(self, p: _Params) -> bool:
        chat_id = self._known_chat(p)
        ids = p.opt_json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message_ids must be a non-empty array of at most 100 ids")
        for message_id in ids:
            msg = self._messages[chat_id].get(int(message_id))
            if msg is not None:
                self._messages[chat_id][msg.message_id] = replace(msg, deleted=True)
        return True

    def _answer_callback_query(self, p: _Params) -> bool:
        query_id = p.opt_str("callback_query_id") or ""
        if query_id not in self.callback_presses or query_id in self.callback_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = p.opt_str("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_TEXT:
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = CallbackAnswer(
            query_id, text, p.opt_bool("show_alert"), p.opt_str("url"), self._clock()
        )
        return True

    def _send_chat_action(self, p: _Params) -> bool:
        chat_id = self._known_chat(p)
        action = p.opt_str("action") or ""
        if action not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        thread_id = p.opt_int("message_thread_id")
        self.chat_actions.append(ChatActionSent(chat_id, action, thread_id, self._clock()))
        return True

    def _set_message_reaction(self, p: _Params) -> bool:
        chat_id = self._known_chat(p)
        msg = self._message(chat_id, p.req_int("message_id"), "MESSAGE_ID_INVALID")
        reaction = p.opt_json("reaction") or []
        if not isinstance(reaction, list):
            raise _bad("fake: reaction must be a JSON array")
        emoji: list[str] = []
        for item in reaction:
            if not isinstance(item, dict) or item.get("type") != "emoji":
                raise _bad("REACTION_INVALID")
            if item.get("emoji") not in REACTION_EMOJI:
                raise _bad("REACTION_INVALID")
            emoji.append(item["emoji"])
        if len(emoji) > 1:
            raise _bad("REACTIONS_TOO_MANY")
        self._messages[chat_id][msg.message_id] = replace(msg, reaction=tuple(emoji))
        entry = ReactionSet(
            chat_id, msg.message_id, tuple(emoji), p.opt_bool("is_big"), self._clock()
        )
        self.reactions.append(entry)
        return True

    def _send_document(self, p: _Params) -> JSONDict:
        return self._send_media(p, "document", "sendDocument")

    def _send_photo(self, p: _Params) -> JSONDict:
        return self._send_media(p, "photo", "sendPhoto")

    def _send_media(self, p: _Params, kind: Literal["document", "photo"], method: str) -> JSONDict:
        chat_id = self._known_chat(p)
        stored = self._media_param(p, kind)
        caption = p.opt_str("caption")
        if caption is not None and utf16_len(caption) > MAX_CAPTION:
            raise _bad("message caption is too long")
        caption_entities = self._entities(p, "caption_entities", caption or "")
        markup = self._markup(p)
        thread_id = p.opt_int("message_thread_id")
        reply_to = self._reply_target(p, chat_id)
        self.flood.check(method, chat_id)
        media = {"photo": stored} if kind == "photo" else {"document": stored}
        msg = self._store_bot_message(
            chat_id,
            thread_id,
            reply_to,
            caption=caption or None,
            caption_entities=caption_entities,
            reply_markup=markup,
            **media,
        )
        return self._message_json(msg)

    def _media_param(self, p: _Params, kind: Literal["document", "photo"]) -> StoredFile:
        value = p.values.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.values.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedPart):
            if not value.data:
                raise _bad("file must be non-empty")
            if len(value.data) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            if kind == "photo":
                width, height = _image_size(value.data)
                return self.store_file(
                    value.data, kind="photos", suffix=".jpg", width=width, height=height
                )
            name = value.filename or "document.bin"
            return self.store_file(
                value.data,
                kind="documents",
                file_name=name,
                mime_type=value.content_type or mimetypes.guess_type(name)[0],
            )
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if value is None:
            raise _bad(f"there is no {kind} in the request")
        raise _bad("wrong file identifier/HTTP URL specified")

    def _get_file(self, p: _Params) -> JSONDict:
        stored = self._files.get(p.opt_str("file_id") or "")
        if stored is None:
            raise _bad("invalid file_id")
        if stored.size > MAX_DOWNLOAD_BYTES:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    def _get_chat(self, p: _Params) -> JSONDict:
        chat = self._chats[self._known_chat(p)]
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _send_message_draft(self, p: _Params) -> bool:
        chat_id = self._known_chat(p)
        if self._chats[chat_id]["type"] != "private":
            raise _bad("fake: sendMessageDraft works only in private chats")
        draft_id = p.req_int("draft_id")
        if draft_id == 0:
            raise _bad("fake: draft_id must be non-zero")
        text = self._text(p, "text", MAX_TEXT)
        entities = self._entities(p, "entities", text)
        self.flood.check("sendMessageDraft", chat_id)
        thread_id = p.opt_int("message_thread_id")
        draft = DraftSent(chat_id, draft_id, text, entities, thread_id, self._clock())
        self.drafts.append(draft)
        return True

    # ------------------------------------------------------------------ validation

    def _known_chat(self, p: _Params) -> int:
        chat_id = p.chat_id()
        if chat_id not in self._chats:
            raise _bad("chat not found")
        return chat_id

    @staticmethod
    def _text(p: _Params, name: str, limit: int) -> str:
        text = p.opt_str(name)
        if text is None or not text.strip():
            raise _bad("message text is empty")
        if utf16_len(text) > limit:
            raise _bad("message is too long")
        return text

    @staticmethod
    def _entities(p: _Params, name: str, text: str) -> tuple[JSONDict, ...]:
        raw = p.opt_json(name)
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise _bad("can't parse entities: entities must be an array")
        size = utf16_len(text)
        checked: list[JSONDict] = []
        for entity in raw:
            if not isinstance(entity, dict):
                raise _bad("can't parse entities: entity must be an object")
            kind, offset, length = entity.get("type"), entity.get("offset"), entity.get("length")
            if kind not in ENTITY_TYPES:
                raise _bad(f"can't parse entities: unsupported entity type {kind!r}")
            if not isinstance(offset, int) or not isinstance(length, int):
                raise _bad("can't parse entities: offset and length must be integers")
            if offset < 0 or length < 1 or offset + length > size:
                raise _bad(
                    f"can't parse entities: {kind} at offset {offset} length {length}"
                    f" is outside a text of {size} UTF-16 code units"
                )
            if kind == "text_link" and not entity.get("url"):
                raise _bad("can't parse entities: text_link without url")
            if kind == "text_mention" and not isinstance(entity.get("user"), dict):
                raise _bad("can't parse entities: text_mention without user")
            if kind == "custom_emoji" and not entity.get("custom_emoji_id"):
                raise _bad("can't parse entities: custom_emoji without custom_emoji_id")
            checked.append({k: v for k, v in entity.items() if v is not None})
        return tuple(checked)

    @staticmethod
    def _markup(p: _Params) -> JSONDict | None:
        """The inline keyboard to show, validated; other reply markups are not shown."""
        markup = p.opt_json("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard: rows must be arrays of buttons")
        if sum(len(row) for row in rows) > MAX_BUTTONS:
            raise _bad("reply markup is too long")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad("can't parse inline keyboard button: text must be non-empty")
                actions = [a for a in _BUTTON_ACTIONS if button.get(a) is not None]
                if len(actions) != 1:
                    raise _bad(
                        "can't parse inline keyboard button:"
                        " Text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and (
                    not isinstance(data, str)
                    or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise _bad("BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not re.match(r"(https?|tg)://\S", str(url)):
                    raise _bad("BUTTON_URL_INVALID")
        return {"inline_keyboard": [[dict(b) for b in row] for row in rows]}

    def _reply_target(self, p: _Params, chat_id: int) -> int | None:
        params = p.opt_json("reply_parameters")
        reply_id = p.opt_int("reply_to_message_id")
        allow_missing = p.opt_bool("allow_sending_without_reply")
        if isinstance(params, dict):
            reply_id = params.get("message_id")
            allow_missing = bool(params.get("allow_sending_without_reply"))
            if params.get("chat_id") not in (None, chat_id):
                raise _bad("fake: replies to other chats are not supported")
        if reply_id is None:
            return None
        target = self._messages[chat_id].get(int(reply_id))
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        return target.message_id

    def _editable(self, p: _Params) -> ChatMessage:
        if p.values.get("inline_message_id"):
            raise _bad("fake: inline messages are not supported")
        chat_id = self._known_chat(p)
        msg = self._message(chat_id, p.req_int("message_id"), "message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        return msg

    def _message(self, chat_id: int, message_id: int, missing: str) -> ChatMessage:
        msg = self._messages.get(chat_id, {}).get(message_id)
        if msg is None or msg.deleted:
            raise _bad(missing)
        return msg

    # ------------------------------------------------------------------ storage

    def _user(self, user_id: int) -> JSONDict:
        user = self._users.get(user_id)
        if user is None:
            user = {
                "id": user_id,
                "is_bot": False,
                "first_name": f"User{user_id}",
                "username": f"user{user_id}",
                "language_code": "en",
            }
            self._users[user_id] = user
        return user

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def _store_bot_message(
        self, chat_id: int, thread_id: int | None, reply_to: int | None, **content: Any
    ) -> ChatMessage:
        msg = ChatMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            sender_id=self.bot_id,
            from_bot=True,
            date=int(self._wall_clock()),
            thread_id=thread_id,
            reply_to=reply_to,
            **content,
        )
        self._messages[chat_id][msg.message_id] = msg
        return msg

    def _edited(self, old: ChatMessage, **changes: Any) -> ChatMessage:
        new = replace(old, edit_date=int(self._wall_clock()), edits=old.edits + 1, **changes)
        self._messages[old.chat_id][old.message_id] = new
        return new

    def _current(self, message: ChatMessage | int, chat_id: int | None) -> ChatMessage:
        if isinstance(message, ChatMessage):
            return self._messages[message.chat_id][message.message_id]
        if chat_id is not None:
            return self._messages[chat_id][message]
        found = [chat[message] for chat in self._messages.values() if message in chat]
        if len(found) != 1:
            raise LookupError(f"message id {message} is in {len(found)} chats; pass chat_id")
        return found[0]

    def _auto_entities(self, text: str) -> list[JSONDict]:
        entities: list[JSONDict] = []
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
        for found in _MENTION_RE.finditer(text):
            offset = utf16_len(text[: found.start()])
            entities.append({"type": "mention", "offset": offset, "length": len(found.group())})
        return entities

    def _message_json(self, msg: ChatMessage, *, nested: bool = False) -> JSONDict:
        """The Message object Telegram would send for ``msg``."""
        chat = self._chats[msg.chat_id]
        body: JSONDict = {
            "message_id": msg.message_id,
            "from": self.bot_user if msg.from_bot else self._users[msg.sender_id],
            "chat": chat,
            "date": msg.date,
        }
        if msg.thread_id is not None:
            body["message_thread_id"] = msg.thread_id
            if chat.get("is_forum"):
                body["is_topic_message"] = True
        if msg.reply_to is not None and not nested:
            target = self._messages[msg.chat_id][msg.reply_to]
            body["reply_to_message"] = self._message_json(target, nested=True)
        if msg.edit_date is not None:
            body["edit_date"] = msg.edit_date
        if msg.text is not None:
            body["text"] = msg.text
            if msg.entities:
                body["entities"] = list(msg.entities)
        if msg.caption is not None:
            body["caption"] = msg.caption
            if msg.caption_entities:
                body["caption_entities"] = list(msg.caption_entities)
        if msg.photo is not None:
            body["photo"] = self._photo_sizes(msg.photo)
        if msg.document is not None:
            doc = msg.document
            body["document"] = {
                "file_id": doc.file_id,
                "file_unique_id": doc.file_unique_id,
                "file_size": doc.size,
                **({"file_name": doc.file_name} if doc.file_name else {}),
                **({"mime_type": doc.mime_type} if doc.mime_type else {}),
            }
        for kind in ("voice", "audio", "video_note"):
            sound: StoredFile | None = getattr(msg, kind)
            if sound is not None:
                body[kind] = self._sound_json(kind, sound)
        if msg.reply_markup is not None:
            body["reply_markup"] = msg.reply_markup
        return body

    @staticmethod
    def _sound_json(kind: str, sound: StoredFile) -> JSONDict:
        """A Voice, Audio or VideoNote object as the Bot API sends it."""
        body: JSONDict = {
            "file_id": sound.file_id,
            "file_unique_id": sound.file_unique_id,
            "file_size": sound.size,
            "duration": sound.duration or 0,
        }
        if kind == "video_note":
            body["length"] = 240
        if kind == "audio" and sound.file_name:
            body["file_name"] = sound.file_name
        if kind != "video_note" and sound.mime_type:
            body["mime_type"] = sound.mime_type
        return body

    def _photo_sizes(self, photo: StoredFile) -> list[JSONDict]:
        """A 1x1 thumbnail first and the real photo last, as Telegram orders sizes."""
        thumb_id = f"{photo.file_id}-thumb"
        if thumb_id not in self._files:
            self._files[thumb_id] = replace(
                photo,
                file_id=thumb_id,
                file_unique_id=f"{photo.file_unique_id}-t",
                file_path=f"{photo.file_path}.thumb.png",
                data=_THUMB_PNG,
                width=1,
                height=1,
            )
        return [
            {
                "file_id": f.file_id,
                "file_unique_id": f.file_unique_id,
                "file_size": f.size,
                "width": f.width or 1,
                "height": f.height or 1,
            }
            for f in (self._files[thumb_id], photo)
        ]


def _update_type(update: Mapping[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")
