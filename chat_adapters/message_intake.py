"""What becomes of a person's authorized message, the same on every app.

Each app says what the message holds (text, audio clips, files to fetch, or something
the bot cannot use); from there the steps are shared: audio is transcribed into the
prompt, an unusable message is answered with why, a plain text message answers an
open free-text question when one waits, files are fetched, and what is left goes to
Claude. A file that cannot be fetched is said plainly, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from chat_adapters.chat_input import Attachment, Sender
from chat_adapters.dispatch import ChatDispatcher
from chat_adapters.interactions import Interactions
from chat_adapters.surface import Surface
from chat_adapters.unusable import unusable_text
from chat_adapters.voice import AudioClip, VoicePrompts
from storage.preferences import ChatKey

SEND_AGAIN = "Nothing was sent to Claude; please send it again."


class FetchFailed(Exception):
    """A file or audio clip of the message could not be fetched; the text says which."""


Fetched = tuple[list[Attachment], list[str]]
"""The files fetched, and notes on those skipped (too large, could not be read)."""


async def nothing_to_fetch() -> Fetched:
    return [], []


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """One authorized message, as its app read it."""

    surface: Surface
    chat: ChatKey
    sender: Sender
    text: str
    message_id: str
    audio: Sequence[AudioClip] = ()
    fetch_files: Callable[[], Awaitable[Fetched]] = nothing_to_fetch
    has_files: bool = False
    unusable: str | None = None
    """What the message holds that the bot cannot use (a sticker, a poll), if that is
    all it holds."""


async def take_message(
    message: IncomingMessage,
    dispatcher: ChatDispatcher,
    interactions: Interactions,
    voice: VoicePrompts,
    *,
    on_prompt: Callable[[], None] = lambda: None,
) -> None:
    """See the module doc. ``on_prompt`` runs just before the text goes to Claude."""
    surface, text = message.surface, message.text
    if message.audio:
        try:
            spoken = await voice.prompt(surface, message.chat, message.audio, text)
        except FetchFailed as exc:
            await surface.send_text(f"⚠️ {exc} {SEND_AGAIN}")
            return
        if spoken is None:
            return
        text = spoken
    if message.unusable is not None:
        await surface.send_text(unusable_text(message.unusable))
        return
    media = message.has_files or bool(message.audio)
    if not media and interactions.answer_typed(surface.surface_id, text):
        return
    try:
        attachments, skipped = await message.fetch_files()
    except FetchFailed as exc:
        await surface.send_text(f"⚠️ {exc} {SEND_AGAIN}")
        return
    if skipped:
        await surface.send_text("⚠️ Skipped: " + ", ".join(skipped))
    if not text.strip() and not attachments:
        return
    on_prompt()
    await dispatcher.on_text(
        surface, message.chat, message.sender, text, attachments, message.message_id
    )
