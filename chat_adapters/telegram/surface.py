"""One Telegram chat (or forum topic) as a :class:`~chat_adapters.surface.Surface`.

Everything the shared layer asks for becomes Bot API calls here, and every call that
sends or edits goes through the chat's :class:`~chat_adapters.outbox.Outbox`, shared by
all topics of the chat because Telegram's rate limit is per chat: live edits are
coalesced, new messages go first, and a 429 pauses the chat for its ``retry_after``
instead of failing the reply. Network errors are retried a few times; "message is not
modified" is success (the content is already there).

Markdown is rendered to text + entities (:mod:`chat_adapters.telegram.markdown`), never
``parse_mode``, so formatting cannot be rejected; if Telegram still refuses the
entities, the text goes out plain. Long text is split *before* rendering, without
breaking code blocks, and a rendered part that still overflows is split again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

import structlog
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from chat_adapters.choices import ChoiceAnswer, ChoicePrompt
from chat_adapters.long_turns import TurnClock
from chat_adapters.outbox import Outbox
from chat_adapters.surface import (
    Capabilities,
    MessageRef,
    StopCallback,
    check_file_name,
    fit_status,
    truncate_to,
)
from chat_adapters.telegram.buttons import EXPIRED, Buttons, PressReply, button_data
from chat_adapters.telegram.drafts import DRAFT_INTERVAL_S, DraftLiveReply
from chat_adapters.telegram.markdown import render_markdown
from chat_adapters.telegram.message_text import MessageText, join, status_text
from chat_adapters.text_split import fence_closer, utf16_length

log = structlog.get_logger(__name__)

T = TypeVar("T")

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_TEXT = 200
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PRIVATE_EDIT_INTERVAL_S = 1.0
"""About one message per second per chat."""
GROUP_EDIT_INTERVAL_S = 3.0
"""Groups allow about 20 messages a minute."""
PACING_MARGIN = 1.05
TYPING_INTERVAL_S = 4.5
"""A chat action shows for about 5 s."""
TITLE_LIMIT = 200
NOTE_LIMIT = 200
PROMPT_BODY_LIMIT = MAX_MESSAGE - TITLE_LIMIT - NOTE_LIMIT - 100
"""Room for a prompt's body chunk: its title before it and the answer line after it."""
SHORT_LABEL = 20
"""Labels up to this long share a keyboard row; longer ones get a row each."""
STOP_LABEL = "⏹ Stop"
NO_PREVIEWS = LinkPreviewOptions(is_disabled=True)


def capabilities_for(chat_id: int) -> Capabilities:
    """Group chats (negative ids) have a stricter rate limit than private ones."""
    interval = GROUP_EDIT_INTERVAL_S if chat_id < 0 else PRIVATE_EDIT_INTERVAL_S
    return Capabilities(
        max_message_length=MAX_MESSAGE,
        length_unit="utf16",
        can_edit=True,
        min_edit_interval_s=interval,
        button_data_limit_bytes=64,
        max_buttons_per_row=3,
        supports_files=True,
        max_file_bytes=MAX_UPLOAD_BYTES,
    )


def outbox_for(chat_id: int, *, name: str | None = None) -> Outbox:
    """The outbox one chat's surfaces share, paced to that chat's rate limit (plus a
    margin: requests leave on time but arrive with network jitter)."""
    return Outbox(
        min_interval_s=capabilities_for(chat_id).min_edit_interval_s * PACING_MARGIN,
        retry_after=telegram_retry_after,
        name=name or f"telegram:{chat_id}",
    )


def telegram_retry_after(exc: BaseException) -> float | None:
    """The wait a PTB ``RetryAfter`` asks for, in seconds; None for other errors."""
    if not isinstance(exc, RetryAfter):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns that int periods become timedeltas
        wait = exc.retry_after
    seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
    return seconds if math.isfinite(seconds) and seconds >= 0 else 1.0


def _transient(exc: BaseException) -> bool:
    """Worth retrying: the network failed. BadRequest subclasses NetworkError in PTB,
    but a request Telegram refused will be refused again."""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


async def call_api(call: Callable[[], Awaitable[T]], *, attempts: int = 4) -> T:
    """``call()``, retried with backoff while the network fails."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(_transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.25, max=4.0),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity re-raises the last error")


def _not_modified(exc: BadRequest) -> bool:
    return "not modified" in exc.message.lower()


def _bad_entities(exc: BadRequest) -> bool:
    return "can't parse entities" in exc.message.lower()


def _edit_target_gone(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "message to edit not found" in text or "message can't be edited" in text


# -- rendering --------------------------------------------------------------------------


def render_chunks(markdown: str, limit: int = MAX_MESSAGE) -> list[MessageText]:
    """Messages of at most ``limit`` UTF-16 units carrying all of ``markdown``: split
    before rendering without breaking code blocks, see :mod:`.markdown`."""
    return [MessageText.rendered(m) for m in render_markdown(markdown, limit=limit)]


# -- the surface --------------------------------------------------------------------------


class TelegramSurface:
    """One chat, or one forum topic of a chat (``thread_id``)."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        thread_id: int | None = None,
        outbox: Outbox | None = None,
        buttons: Buttons | None = None,
        typing_interval_s: float = TYPING_INTERVAL_S,
        notify_after_s: float | None = None,
        drafts: bool = False,
    ) -> None:
        self.bot = bot
        self.drafts = drafts and chat_id > 0 and thread_id is None
        """Stream live replies as message drafts (private chats only)."""
        self.notify_after_s = notify_after_s
        """A turn longer than this ends with a new message (see ``long_turns``)."""
        self.prompt_id: int | None = None
        """The person's latest message that went to Claude: long turns reply to it."""
        self.chat_id = chat_id
        self.thread_id = thread_id
        self.outbox = outbox if outbox is not None else outbox_for(chat_id)
        self.buttons = buttons if buttons is not None else Buttons()
        self._capabilities = capabilities_for(chat_id)
        if self.drafts:
            self._capabilities = dataclasses.replace(
                self._capabilities, has_drafts=True, min_edit_interval_s=DRAFT_INTERVAL_S
            )
        self._typing_interval = typing_interval_s
        self._typing_holders = 0
        self._typing_task: asyncio.Task[None] | None = None
        self._prompts: list[_OpenPrompt] = []
        self._background: set[asyncio.Task[None]] = set()
        self.newest_message_id = 0
        """The newest message seen in this chat/topic, sent or received."""

    @property
    def surface_id(self) -> str:
        if self.thread_id is None:
            return f"telegram:{self.chat_id}"
        return f"telegram:{self.chat_id}:{self.thread_id}"

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    # -- Surface ------------------------------------------------------------------------

    async def send_text(self, text: str) -> MessageRef:
        if not text.strip():
            raise ValueError("refusing to send a blank message")
        parts = render_chunks(text) or [MessageText(text.strip())]
        sent = await self.send_many(parts)
        return MessageRef(str(sent[0].message_id))

    async def open_live_reply(
        self, *, on_stop: StopCallback | None = None
    ) -> TelegramLiveReply | DraftLiveReply:
        if self.drafts:
            return DraftLiveReply(self, on_stop)
        return TelegramLiveReply(self, on_stop)

    async def ask_choice(self, prompt: ChoicePrompt) -> ChoiceAnswer:
        return await _OpenPrompt(self, prompt).run()

    async def deliver_file(self, name: str, data: bytes, caption: str = "") -> MessageRef:
        check_file_name(name)
        if not data:
            raise ValueError(f"{name}: Telegram does not take empty files")
        if len(data) > self._capabilities.max_file_bytes:
            raise ValueError(
                f"{name} is {len(data)} bytes; Telegram bots may send "
                f"{self._capabilities.max_file_bytes}"
            )
        return await self._upload(self.bot.send_document, name, data, caption)

    async def deliver_photo(self, name: str, data: bytes, caption: str = "") -> MessageRef:
        """An image shown as a photo (see :mod:`chat_adapters.file_delivery`)."""
        check_file_name(name)
        return await self._upload(self.bot.send_photo, name, data, caption)

    async def _upload(
        self, send: Callable[..., Awaitable[Message]], name: str, data: bytes, caption: str
    ) -> MessageRef:
        """One file through the chat's outbox (``send_document`` or ``send_photo``)."""
        note = truncate_to(caption.strip(), MAX_CAPTION, utf16_length) or None

        async def upload() -> Message:
            return await call_api(
                lambda: send(
                    self.chat_id,
                    InputFile(data, filename=name),
                    caption=note,
                    filename=name,
                    message_thread_id=self.thread_id,
                )
            )

        sent = await self.outbox.send(upload)
        self.saw(sent.message_id)
        return MessageRef(str(sent.message_id))

    async def set_chat_commands(self, commands: Sequence[tuple[str, str]]) -> None:
        """This chat's command menu (see :mod:`chat_adapters.claude_commands`)."""
        menu = [BotCommand(name, description) for name, description in commands]
        scope = BotCommandScopeChat(self.chat_id)
        await call_api(lambda: self.bot.set_my_commands(menu, scope=scope))

    # -- what the bot routes here -----------------------------------------------------------

    def answer_typed(self, text: str) -> bool:
        """Take a typed message as the answer to the newest open prompt that allows
        free text. False: no prompt wanted it, the text is a new prompt for Claude."""
        return any(prompt.take_text(text) for prompt in reversed(self._prompts))

    async def on_button(self, query: CallbackQuery) -> None:
        """A button of this chat was pressed: do what it means, and always answer the
        query (Telegram shows a spinner until then). Dead buttons are taken away."""
        reply = PressReply(EXPIRED, remove_keyboard=True)
        try:
            reply = await self.buttons.press(query.data or "", self.chat_id, query.from_user.id)
        finally:
            text = truncate_to(reply.text, MAX_CALLBACK_TEXT)
            try:
                await call_api(lambda: query.answer(text, show_alert=reply.show_alert))
            except TelegramError as exc:  # too late to answer: the press itself counted
                log.info("telegram_callback_answer_failed", error=repr(exc))
        message = query.message
        if reply.remove_keyboard and message is not None:
            await self.remove_keyboard(message.message_id)

    @property
    def idle(self) -> bool:
        """Nothing in flight here: no open question, typing indicator or background edit."""
        typing = self._typing_task is not None and not self._typing_task.done()
        return not (self._prompts or self._background or self._typing_holders or typing)

    @property
    def waiting_for_text(self) -> bool:
        return any(p.prompt.allows_free_text and not p.answered for p in self._prompts)

    async def show_typing(self) -> None:
        """One "typing…" (about 5 s): the prompt arrived, an answer is being worked on."""
        with contextlib.suppress(Exception):
            await self.bot.send_chat_action(
                self.chat_id, "typing", message_thread_id=self.thread_id
            )

    async def aclose(self) -> None:
        """Stop the typing indicator and background edits (bounded)."""
        self._typing_holders = 0
        if self._typing_task is not None:
            self._typing_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._typing_task
        if self._background:
            await asyncio.wait(self._background, timeout=5)

    # -- Bot API, through the outbox ---------------------------------------------------------

    async def send(
        self, content: MessageText, markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        """Send one message (already within the limit) in this chat/topic."""
        return (await self.send_many([content], markup))[0]

    async def send_many(
        self,
        contents: Sequence[MessageText],
        last_markup: InlineKeyboardMarkup | None = None,
        *,
        reply_to: int | None = None,
    ) -> list[Message]:
        """Send messages back to back, all queued at once so nothing else sent in the
        chat meanwhile lands between them; ``last_markup`` goes on the last one."""
        futures: list[asyncio.Future[Message]] = []
        sent: list[Message] = []
        try:
            for index, content in enumerate(contents):
                markup = last_markup if index == len(contents) - 1 else None
                replying = reply_to if index == 0 else None
                sender = self._sender(content, markup, replying)
                futures.append(await self.outbox.submit("send", sender))
            for future in futures:
                sent.append(await future)
                self.saw(sent[-1].message_id)
        finally:
            for future in futures:
                future.cancel()  # withdraws the rest if one failed or we were cancelled
        return sent

    def _sender(
        self, content: MessageText, markup: InlineKeyboardMarkup | None, reply_to: int | None
    ) -> Callable[[], Awaitable[Message]]:
        async def run() -> Message:
            try:
                return await self._send_now(content, markup, reply_to)
            except BadRequest as exc:
                if not (_bad_entities(exc) and content.entities):
                    raise
                log.warning("telegram_entities_refused", error=exc.message)
                return await self._send_now(MessageText(content.text), markup, reply_to)

        return run

    async def edit(
        self,
        message_id: int,
        content: MessageText,
        markup: InlineKeyboardMarkup | None = None,
        *,
        final: bool = False,
    ) -> bool:
        """Edit a message; False if a newer edit of it replaced this one while queued.

        Without ``markup`` the keyboard goes, as on Telegram. Unchanged content is
        success. Raises BadRequest if the message is gone (deleted by the person).
        """

        async def run() -> None:
            try:
                await self._edit_now(message_id, content, markup)
            except BadRequest as exc:
                if _not_modified(exc):
                    return
                if not (_bad_entities(exc) and content.entities):
                    raise
                log.warning("telegram_entities_refused", error=exc.message)
                with contextlib.suppress(BadRequest):
                    await self._edit_now(message_id, MessageText(content.text), markup)

        return await self.outbox.edit(message_id, run, final=final)

    async def delete(self, message_id: int) -> None:
        """Delete a message this bot sent (after its queued edits); gone already is fine."""

        async def run() -> None:
            with contextlib.suppress(BadRequest):
                await call_api(lambda: self.bot.delete_message(self.chat_id, message_id))

        await self.outbox.delete(message_id, run)

    def saw(self, message_id: int) -> None:
        """A message arrived in this chat/topic (the person wrote)."""
        self.newest_message_id = max(self.newest_message_id, message_id)

    async def remove_keyboard(self, message_id: int) -> None:
        """Take the buttons off a message whose buttons no longer do anything."""

        async def run() -> None:
            with contextlib.suppress(BadRequest):  # already without buttons, or gone
                await call_api(
                    lambda: self.bot.edit_message_reply_markup(
                        self.chat_id, message_id, reply_markup=None
                    )
                )

        await self.outbox.edit(("markup", message_id), run, final=True)

    async def _send_now(
        self, content: MessageText, markup: InlineKeyboardMarkup | None, reply_to: int | None
    ) -> Message:
        replying = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        return await call_api(
            lambda: self.bot.send_message(
                self.chat_id,
                content.text,
                entities=content.entities or None,
                reply_markup=markup,
                message_thread_id=self.thread_id,
                link_preview_options=NO_PREVIEWS,
                reply_parameters=replying,
            )
        )

    async def _edit_now(
        self, message_id: int, content: MessageText, markup: InlineKeyboardMarkup | None
    ) -> None:
        await call_api(
            lambda: self.bot.edit_message_text(
                content.text,
                self.chat_id,
                message_id,
                entities=content.entities or None,
                reply_markup=markup,
                link_preview_options=NO_PREVIEWS,
            )
        )

    # -- pieces the live reply and prompts use --------------------------------------------

    def hold_typing(self) -> None:
        self._typing_holders += 1
        if self._typing_task is None or self._typing_task.done():
            self._typing_task = asyncio.get_running_loop().create_task(
                self._keep_typing(), name=f"{self.surface_id}-typing"
            )

    def release_typing(self) -> None:
        self._typing_holders = max(0, self._typing_holders - 1)
        if not self._typing_holders and self._typing_task is not None:
            self._typing_task.cancel()
            self._typing_task = None

    async def in_background(self, work: Awaitable[None]) -> None:
        """Run ``work`` to the end even if the caller is cancelled meanwhile (a last
        edit that must land); failures are logged, not raised."""

        async def run() -> None:
            try:
                await work
            except Exception as exc:
                log.warning("telegram_background_edit_failed", error=repr(exc))

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        await asyncio.shield(task)

    async def _keep_typing(self) -> None:
        while self._typing_holders:
            await self.show_typing()
            await asyncio.sleep(self._typing_interval)

    def _prompt_opened(self, prompt: _OpenPrompt) -> None:
        self._prompts.append(prompt)

    def _prompt_closed(self, prompt: _OpenPrompt) -> None:
        with contextlib.suppress(ValueError):
            self._prompts.remove(prompt)


def stop_keyboard(key: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(STOP_LABEL, callback_data=button_data(key))]]
    )


class TelegramLiveReply:
    """One message edited in place while a turn runs, with a Stop button until finalized."""

    def __init__(self, surface: TelegramSurface, on_stop: StopCallback | None) -> None:
        self._surface = surface
        self._on_stop = on_stop
        self._message_id: int | None = None
        self._stop_key: str | None = None
        self._stopping = False
        self._finalized = False
        self._lock = asyncio.Lock()
        self._sending: asyncio.Future[Message] | None = None
        self._typing = False
        self._clock = TurnClock(surface.notify_after_s)
        self._prompt_id = surface.prompt_id
        self._reply_to: int | None = None

    @property
    def message_id(self) -> int | None:
        return self._message_id

    async def update(self, text: str, status: Sequence[str] = ()) -> None:
        """Show this content. Calls may overlap: the first sends the message, later ones
        queue edits that the outbox coalesces (only the newest content is sent)."""
        if self._finalized:
            raise RuntimeError("live reply already finalized")
        content = self._preview(text, status)
        if not content:
            return
        self._start_typing()
        markup = await self._stop_markup()
        async with self._lock:
            if self._finalized:
                raise RuntimeError("live reply already finalized")
            message_id = self._message_id
            buried = self._buried()
            if message_id is None or buried:
                # Shielded: a cancelled caller must not lose the id of a message that
                # is on its way (finalize still has to edit it).
                self._sending = asyncio.ensure_future(self._surface.send(content, markup))
                self._message_id = (await asyncio.shield(self._sending)).message_id
                if buried and message_id is not None:
                    await self._surface.delete(message_id)
                return
        await self._surface.edit(message_id, content, markup)

    def _buried(self) -> bool:
        """Something was said in the chat after the live message (a question, a queued
        notice, the person): it moves down, where the person is reading, instead of
        changing out of sight above."""
        message_id = self._message_id
        return message_id is not None and self._surface.newest_message_id > message_id

    async def finalize(self, text: str, status: Sequence[str] = ()) -> MessageRef:
        if self._finalized:
            raise RuntimeError("live reply already finalized")
        if not text.strip() and not status:
            raise ValueError("finalize needs text or a status line")
        self._finalized = True
        async with self._lock:
            if self._message_id is None and self._sending is not None:
                with contextlib.suppress(Exception):  # failed: finalize sends anew
                    self._message_id = (await self._sending).message_id
            long = self._clock.took_long()
            if long:
                # An edit does not notify: a long turn's answer comes as a new message,
                # a reply to the prompt, so the phone buzzes.
                self._reply_to = self._prompt_id
            buried = self._message_id if self._buried() or long else None
            if buried is not None:
                self._message_id = None
            try:
                return await self._deliver(text, status)
            finally:
                if buried is not None:
                    await self._surface.delete(buried)
                await self._end()

    async def _deliver(self, text: str, status: Sequence[str]) -> MessageRef:
        surface = self._surface
        caps = surface.capabilities
        parts = render_chunks(text, caps.text_budget) if text.strip() else []
        last = join(
            [parts.pop() if parts else MessageText(""), status_text(fit_status(status, caps))]
        )
        if not last:
            last = MessageText(text.strip() or "…")
        parts.append(last)
        first_id = self._message_id
        if first_id is not None:
            try:
                await surface.edit(first_id, parts[0], final=True)
                parts = parts[1:]
            except BadRequest as exc:
                if not _edit_target_gone(exc):
                    raise
                log.info("telegram_live_message_gone", message_id=first_id)
                first_id = None
        sent = await surface.send_many(parts, reply_to=self._reply_to) if parts else []
        first_id = first_id if first_id is not None else sent[0].message_id
        return MessageRef(str(first_id))

    async def _end(self) -> None:
        if self._typing:
            self._typing = False
            self._surface.release_typing()
        if self._stop_key is not None:
            key, self._stop_key = self._stop_key, None
            await self._surface.buttons.release(key)

    def _preview(self, text: str, status: Sequence[str]) -> MessageText:
        """What the live message shows now: the text so far (an open code fence closed
        so it renders as code), then the status lines, within one message."""
        caps = self._surface.capabilities
        lines = status_text(fit_status(status, caps))
        body = join(render_chunks(text + fence_closer(text)), "\n")
        room = caps.max_message_length - (lines.length + 2 if lines else 0)
        return join([body.truncated(room), lines])

    def _start_typing(self) -> None:
        if not self._typing:
            self._typing = True
            self._surface.hold_typing()

    async def _stop_markup(self) -> InlineKeyboardMarkup | None:
        if self._on_stop is None:
            return None
        if self._stop_key is None:
            self._stop_key = await self._surface.buttons.register(
                self._surface.chat_id, self._pressed, kind="stop"
            )
        return stop_keyboard(self._stop_key)

    async def _pressed(self, _suffix: str, _user_id: int) -> PressReply:
        if self._finalized or self._on_stop is None:
            return PressReply("This reply has finished.", remove_keyboard=True)
        if self._stopping:
            return PressReply("Already stopping…")
        self._stopping = True
        await self._on_stop()
        return PressReply("Stopping…")


class _OpenPrompt:
    """One ask_choice, from showing the prompt to showing its answer."""

    def __init__(self, surface: TelegramSurface, prompt: ChoicePrompt) -> None:
        self.surface = surface
        self.prompt = prompt
        self.answered = False
        self._future: asyncio.Future[ChoiceAnswer] = asyncio.get_running_loop().create_future()
        self._key: str | None = None
        self._message_id: int | None = None
        self._sending: asyncio.Future[Message] | None = None
        self._content = MessageText("")

    async def run(self) -> ChoiceAnswer:
        surface, prompt = self.surface, self.prompt
        answer: ChoiceAnswer | None = None
        try:
            self._key = await surface.buttons.register(
                surface.chat_id,
                self._pressed,
                kind="choice",
                payload={
                    "surface": surface.surface_id,
                    "kind": prompt.kind,
                    "title": prompt.title,
                    "options": [[o.id, o.label] for o in prompt.options],
                },
                ttl=timedelta(seconds=prompt.timeout_s + 60),
            )
            await self._show(self._key)
            surface._prompt_opened(self)
            try:
                async with asyncio.timeout(prompt.timeout_s):
                    answer = await self._future
            except TimeoutError:
                answer = prompt.timeout_answer()
            return answer
        finally:
            self.answered = True
            surface._prompt_closed(self)
            # The answer shows before ask_choice returns; a cancelled caller does not
            # wait, but the edit still lands.
            await surface.in_background(self._close(answer))

    def take_text(self, text: str) -> bool:
        if self.answered or not self.prompt.allows_free_text or not text.strip():
            return False
        return self._resolve(self.prompt.free_text_answer(text))

    async def _show(self, key: str) -> None:
        surface, prompt = self.surface, self.prompt
        title = MessageText.styled(truncate_to(" ".join(prompt.title.split()), TITLE_LIMIT), "bold")
        body = render_chunks(prompt.body, PROMPT_BODY_LIMIT)
        if prompt.allows_free_text:
            hint = MessageText.styled("Tap an option or type an answer.", "italic")
            body = [*body[:-1], join([body[-1], hint])] if body else [hint]
        messages = [join([title, body[0]])] if body else [title]
        messages += body[1:]
        self._content = messages[-1]
        self._sending = asyncio.ensure_future(
            _last(surface.send_many(messages, self._keyboard(key)))
        )
        self._message_id = (await asyncio.shield(self._sending)).message_id

    def _keyboard(self, key: str) -> InlineKeyboardMarkup:
        """Short labels share rows (up to the row limit); a long label gets its own."""
        per_row = self.surface.capabilities.max_buttons_per_row
        rows: list[list[InlineKeyboardButton]] = []
        for index, option in enumerate(self.prompt.options):
            button = InlineKeyboardButton(option.label, callback_data=button_data(key, str(index)))
            short = len(option.label) <= SHORT_LABEL
            if short and rows and len(rows[-1]) < per_row and len(rows[-1][-1].text) <= SHORT_LABEL:
                rows[-1].append(button)
            else:
                rows.append([button])
        return InlineKeyboardMarkup(rows)

    async def _pressed(self, suffix: str, _user_id: int) -> PressReply:
        options = self.prompt.options
        if not suffix.isdigit() or int(suffix) >= len(options):
            return PressReply("This button is not part of the question.")
        option = options[int(suffix)]
        if not self._resolve(self.prompt.answer(option.id)):
            return PressReply("Already answered.")
        return PressReply(f"→ {option.label}")

    def _resolve(self, answer: ChoiceAnswer) -> bool:
        if self._future.done():
            return False
        self._future.set_result(answer)
        return True

    async def _close(self, answer: ChoiceAnswer | None) -> None:
        """Buttons off, and the chat shows what was chosen (or that time ran out)."""
        if self._key is not None:
            await self.surface.buttons.release(self._key, withdrawn=answer is None)
        if self._message_id is None and self._sending is not None:
            self._message_id = (await self._sending).message_id  # cancelled while sending
        if self._message_id is None:
            return
        note = _answer_note(self.prompt, answer)
        content = join([self._content, MessageText.styled(note, "italic")])
        await self.surface.edit(self._message_id, content, final=True)


async def _last(sending: Awaitable[list[Message]]) -> Message:
    return (await sending)[-1]


def _answer_note(prompt: ChoicePrompt, answer: ChoiceAnswer | None) -> str:
    if answer is None:
        return "(no longer waiting for an answer)"
    if answer.text is not None:
        return "→ " + truncate_to(" ".join(answer.text.split()), NOTE_LIMIT - 2, utf16_length)
    label = prompt.option(answer.choice_id or "").label
    return f"⏱ No answer in time: {label}" if answer.timed_out else f"→ {label}"
