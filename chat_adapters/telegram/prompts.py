"""A choice prompt in a Telegram chat: a bold title, the Markdown body (over as many
messages as it needs), the options as an inline keyboard on the last message.

Keys, typed answers and timeouts are :mod:`chat_adapters.interactions`' job; here is
only how the prompt looks, and the edit that shows its answer once it has one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from telegram import Message, MessageEntity, User

from chat_adapters.choices import ChoiceAnswer, ChoicePrompt, Notify
from chat_adapters.interactions import OpenChoice, answer_note
from chat_adapters.surface import truncate_to
from chat_adapters.telegram.api import MAX_MESSAGE, render_chunks
from chat_adapters.telegram.buttons import choice_keyboard
from chat_adapters.telegram.message_text import MessageText, join
from chat_adapters.text_split import utf16_length

if TYPE_CHECKING:
    from chat_adapters.telegram.surface import TelegramSurface

TITLE_LIMIT = 200
NOTE_LIMIT = 200
PROMPT_BODY_LIMIT = MAX_MESSAGE - TITLE_LIMIT - NOTE_LIMIT - 100
"""Room for a prompt's body chunk: its title before it and the answer line after it."""
TYPE_HINT = "Tap an option or type an answer."
NAME_LIMIT = 64


class TelegramPrompt:
    """One ask_choice, from showing the prompt to showing its answer."""

    def __init__(self, surface: TelegramSurface, prompt: ChoicePrompt) -> None:
        self.surface = surface
        self.prompt = prompt
        self._choice: OpenChoice | None = None
        self._message_id: int | None = None
        self._sending: asyncio.Future[Message] | None = None
        self._content = MessageText("")

    async def run(self) -> ChoiceAnswer:
        surface = self.surface
        answer: ChoiceAnswer | None = None
        try:
            self._choice = await surface.interactions.open_choice(
                self.prompt, chat=str(surface.chat_id), where=surface.surface_id
            )
            await self._show(self._choice.key)
            answer = await self._choice.wait()
            return answer
        finally:
            # The answer shows before ask_choice returns; a cancelled caller does not
            # wait, but the edit still lands.
            await surface.in_background(self._close(answer))

    async def _show(self, key: str) -> None:
        surface, prompt = self.surface, self.prompt
        title = MessageText.styled(truncate_to(" ".join(prompt.title.split()), TITLE_LIMIT), "bold")
        if prompt.notify is not None:
            title = join([mention(prompt.notify), title], "\n")
        body = render_chunks(prompt.body, PROMPT_BODY_LIMIT)
        if prompt.allows_free_text:
            hint = MessageText.styled(TYPE_HINT, "italic")
            body = [*body[:-1], join([body[-1], hint])] if body else [hint]
        messages = [join([title, body[0]])] if body else [title]
        messages += body[1:]
        self._content = messages[-1]
        keyboard = choice_keyboard(prompt, key, surface.capabilities.max_buttons_per_row)
        self._sending = asyncio.ensure_future(_last(surface.send_many(messages, keyboard)))
        self._message_id = (await asyncio.shield(self._sending)).message_id

    async def _close(self, answer: ChoiceAnswer | None) -> None:
        """Buttons off, and the chat shows what was chosen (or that time ran out)."""
        if self._choice is not None:
            await self.surface.interactions.close_choice(self._choice, answer)
        if self._message_id is None and self._sending is not None:
            self._message_id = (await self._sending).message_id  # cancelled while sending
        if self._message_id is None:
            return
        note = MessageText.styled(answer_note(self.prompt, answer), "italic")
        await self.surface.edit(self._message_id, join([self._content, note]), final=True)


def mention(person: Notify) -> MessageText:
    """A mention by user id (a ``text_mention``), so the asker's phone notifies."""
    name = truncate_to(" ".join(person.name.split()), NAME_LIMIT) or "you"
    if not person.user_id.lstrip("-").isdigit():
        return MessageText(name)
    user = User(int(person.user_id), name, is_bot=False)
    return MessageText(name, (MessageEntity("text_mention", 0, utf16_length(name), user=user),))


async def _last(sending: Awaitable[list[Message]]) -> Message:
    return (await sending)[-1]
