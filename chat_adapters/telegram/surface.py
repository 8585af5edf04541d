"""One Telegram chat (or forum topic) as a :class:`~chat_adapters.surface.Surface`.

Everything the shared layer asks for becomes Bot API calls here (see
:mod:`chat_adapters.telegram.api`), and every call that sends or edits goes through the
chat's :class:`~chat_adapters.outbox.Outbox`, shared by all topics of the chat because
Telegram's rate limit is per chat: live edits are coalesced, new messages go first, and
a 429 pauses the chat for its ``retry_after`` instead of failing the reply. "Message is
not modified" is success (the content is already there). Live replies live in
:mod:`.live_reply` and :mod:`.drafts`, prompts in :mod:`.prompts`.

Markdown is rendered to text + entities (:mod:`chat_adapters.telegram.markdown`), never
``parse_mode``, so formatting cannot be rejected; if Telegram still refuses the
entities, the text goes out plain. Long text is split *before* rendering, without
breaking code blocks, and a rendered part that still overflows is split again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import structlog
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest, TelegramError

from chat_adapters.background import BackgroundTasks
from chat_adapters.choices import ChoiceAnswer, ChoicePrompt
from chat_adapters.interactions import EXPIRED, Interactions, Presser, PressReply
from chat_adapters.outbox import Outbox
from chat_adapters.surface import (
    Capabilities,
    MessageRef,
    StopCallback,
    check_file_name,
    truncate_to,
)
from chat_adapters.telegram.api import (
    MAX_CALLBACK_TEXT,
    MAX_CAPTION,
    NO_PREVIEWS,
    bad_entities,
    call_api,
    capabilities_for,
    not_modified,
    outbox_for,
    render_chunks,
)
from chat_adapters.telegram.buttons import parse_data
from chat_adapters.telegram.drafts import DRAFT_INTERVAL_S, DraftLiveReply
from chat_adapters.telegram.live_reply import TelegramLiveReply
from chat_adapters.telegram.message_text import MessageText
from chat_adapters.telegram.prompts import TelegramPrompt
from chat_adapters.telegram.typing_indicator import TypingIndicator
from chat_adapters.text_split import utf16_length

log = structlog.get_logger(__name__)

TYPING_INTERVAL_S = 4.5
"""A chat action shows for about 5 s."""


class TelegramSurface:
    """One chat, or one forum topic of a chat (``thread_id``)."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        thread_id: int | None = None,
        outbox: Outbox | None = None,
        interactions: Interactions | None = None,
        background: BackgroundTasks | None = None,
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
        self.interactions = interactions if interactions is not None else Interactions("telegram")
        self.background = background if background is not None else BackgroundTasks()
        self._capabilities = capabilities_for(chat_id)
        if self.drafts:
            self._capabilities = dataclasses.replace(
                self._capabilities, min_edit_interval_s=DRAFT_INTERVAL_S
            )
        self.typing = TypingIndicator(
            self.show_typing, typing_interval_s, f"{self.surface_id}-typing"
        )
        self._open_prompts = 0
        self._settling: set[asyncio.Task[None]] = set()
        """Last edits still landing: tracked to say when this surface is idle."""
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
        self._open_prompts += 1
        try:
            return await TelegramPrompt(self, prompt).run()
        finally:
            self._open_prompts -= 1

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
        """Take a typed message as the answer to an open free-text prompt here. False:
        no prompt wanted it, the text is a new prompt for Claude."""
        return self.interactions.answer_typed(self.surface_id, text)

    async def on_button(self, query: CallbackQuery) -> None:
        """A button of this chat was pressed: do what it means, and always answer the
        query (Telegram shows a spinner until then). Dead buttons are taken away."""
        reply = PressReply(EXPIRED, remove_buttons=True)
        try:
            key, suffix = parse_data(query.data or "")
            presser = Presser(str(query.from_user.id), query.from_user.full_name)
            reply = await self.interactions.press(key, suffix, str(self.chat_id), presser)
        finally:
            text = truncate_to(reply.text, MAX_CALLBACK_TEXT)
            try:
                await call_api(lambda: query.answer(text, show_alert=reply.alert))
            except TelegramError as exc:  # too late to answer: the press itself counted
                log.info("telegram_callback_answer_failed", error=repr(exc))
        message = query.message
        if reply.remove_buttons and message is not None:
            await self.remove_keyboard(message.message_id)
        if reply.then is not None:
            await reply.then()

    @property
    def idle(self) -> bool:
        """Nothing in flight here: no open question, typing indicator or background edit."""
        return not (self._open_prompts or self._settling or self.typing.active)

    @property
    def waiting_for_text(self) -> bool:
        return self.interactions.waiting_for_text(self.surface_id)

    async def show_typing(self) -> None:
        """One "typing…" (about 5 s): the prompt arrived, an answer is being worked on."""
        with contextlib.suppress(Exception):
            await self.bot.send_chat_action(
                self.chat_id, "typing", message_thread_id=self.thread_id
            )

    async def aclose(self) -> None:
        """Stop the typing indicator and background edits (bounded)."""
        await self.typing.aclose()
        if self._settling:
            await asyncio.wait(self._settling, timeout=5)

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
                if not (bad_entities(exc) and content.entities):
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
                if not_modified(exc):
                    return
                if not (bad_entities(exc) and content.entities):
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

    async def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` to the end even if the caller is cancelled meanwhile (a last
        edit that must land); failures are logged (by the owner), not raised."""
        task = self.background.spawn(work, name=f"{self.surface_id}-settle")
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)
        with contextlib.suppress(Exception):
            await asyncio.shield(task)
