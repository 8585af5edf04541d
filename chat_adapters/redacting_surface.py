"""The outgoing boundary: every text the shared layer hands a chat passes one redactor.

:func:`guard` wraps a :class:`~chat_adapters.surface.Surface` so that messages, live
replies (text and status lines), choice prompts (title, body, button labels), files
(name, caption and text content), photos (name, caption), command-menu descriptions
and thread names are redacted before the app sees them; what else the app's surface can
do stays visible to the shared layer's probes, wrapped. The dispatcher guards every
surface it is given, and a thread opened from a guarded surface is guarded too,
so no path of the shared layer reaches a chat around it.

A live reply shows text still being written: its unfinished last word is held back
(:meth:`Redactor.settled`), so a token arriving over several deltas is never shown as
a prefix too short for its pattern. The final text is redacted whole.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

from chat_adapters.choices import MAX_LABEL_LENGTH, Choice, ChoiceAnswer, ChoicePrompt
from chat_adapters.redaction import Redactor
from chat_adapters.surface import (
    Capabilities,
    LiveReply,
    MessageRef,
    StopCallback,
    Surface,
    fit_status,
    truncate_to,
)
from storage import ChatKey


class RedactedLiveReply:
    """A live reply whose every update and final content is redacted."""

    def __init__(self, inner: LiveReply, redact: Redactor, capabilities: Capabilities) -> None:
        self._inner = inner
        self._redact = redact
        self._caps = capabilities

    async def update(self, text: str, status: Sequence[str] = ()) -> None:
        shown = self._redact.settled(text)
        budget = self._caps.text_budget
        if self._caps.measure(shown) > budget:  # a mask longer than what it hid
            shown = truncate_to(shown, budget, self._caps.measure)
        lines = self._status(status)
        if shown.strip() or lines:  # only an unfinished word so far: nothing to show yet
            await self._inner.update(shown, lines)

    async def finalize(self, text: str, status: Sequence[str] = ()) -> MessageRef:
        return await self._inner.finalize(self._redact(text), self._status(status))

    def _status(self, status: Sequence[str]) -> tuple[str, ...]:
        lines = [self._redact(line) for line in status]
        if self._caps.measure("\n".join(lines)) <= self._caps.status_budget:
            return tuple(lines)
        return fit_status(lines, self._caps)


class RedactedSurface:
    """A surface whose outgoing text is redacted; see the module doc."""

    def __init__(self, inner: Surface, redact: Redactor) -> None:
        self.inner = inner
        self.redact = redact

    @property
    def surface_id(self) -> str:
        return self.inner.surface_id

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    async def send_text(self, text: str) -> MessageRef:
        return await self.inner.send_text(self.redact(text))

    async def open_live_reply(self, *, on_stop: StopCallback | None = None) -> LiveReply:
        live = await self.inner.open_live_reply(on_stop=on_stop)
        return RedactedLiveReply(live, self.redact, self.capabilities)

    async def ask_choice(self, prompt: ChoicePrompt) -> ChoiceAnswer:
        return await self.inner.ask_choice(redact_prompt(prompt, self.redact))

    async def deliver_file(self, name: str, data: bytes, caption: str = "") -> MessageRef:
        cleaned = redact_file(data, self.redact)
        limit = self.capabilities.max_file_bytes
        if len(cleaned) > limit >= len(data):  # masks made it longer than what it hid
            cleaned = cleaned[:limit]
        return await self.inner.deliver_file(self.redact(name), cleaned, self.redact(caption))


class RedactedThreadSurface(RedactedSurface):
    """A guarded surface that can open threads (Discord); the thread is guarded too."""

    async def open_thread(self, title: str, existing: str | None = None) -> tuple[Surface, ChatKey]:
        opener = self.inner
        assert hasattr(opener, "open_thread")
        surface, key = await opener.open_thread(self.redact(title), existing=existing)
        return guard(surface, self.redact), key


class RedactedPhotoSurface(RedactedSurface):
    """A guarded surface that shows images as photos (Telegram): name and caption
    redacted; image data is binary and passes."""

    async def deliver_photo(self, name: str, data: bytes, caption: str = "") -> MessageRef:
        sender = self.inner
        assert hasattr(sender, "deliver_photo")
        ref: MessageRef = await sender.deliver_photo(
            self.redact(name), redact_file(data, self.redact), self.redact(caption)
        )
        return ref


class RedactedMenuSurface(RedactedSurface):
    """A guarded surface with a per-chat command menu (Telegram): descriptions redacted;
    an entry whose name a mask would change is left out (the app takes only plain names)."""

    async def set_chat_commands(self, commands: Sequence[tuple[str, str]]) -> None:
        menu = self.inner
        assert hasattr(menu, "set_chat_commands")
        kept = [(name, self.redact(text)) for name, text in commands if self.redact(name) == name]
        await menu.set_chat_commands(kept)


_EXTRAS: tuple[tuple[str, type[RedactedSurface]], ...] = (
    ("open_thread", RedactedThreadSurface),
    ("deliver_photo", RedactedPhotoSurface),
    ("set_chat_commands", RedactedMenuSurface),
)
"""What an app's surface may do beyond :class:`Surface`, each passed through redacted.
The shared layer probes for these (``isinstance`` on a Protocol), so a guard that hid
one would silently turn the feature off; one it lacked a wrapper for would leak."""


@functools.cache
def _guarded_class(extras: tuple[type[RedactedSurface], ...]) -> type[RedactedSurface]:
    if not extras:
        return RedactedSurface
    if len(extras) == 1:
        return extras[0]
    name = "Redacted" + "".join(cls.__name__.removeprefix("Redacted") for cls in extras)
    return type(name, extras, {})


def guard(surface: Surface, redact: Redactor) -> Surface:
    """``surface`` behind the redactor, keeping what else it can do (see ``_EXTRAS``);
    once: a guarded surface is returned as is."""
    if isinstance(surface, RedactedSurface):
        return surface
    extras = tuple(cls for method, cls in _EXTRAS if hasattr(surface, method))
    return _guarded_class(extras)(surface, redact)


def redact_prompt(prompt: ChoicePrompt, redact: Redactor) -> ChoicePrompt:
    """The prompt with title, body and labels redacted; labels a mask made equal are
    numbered, so the prompt stays valid."""
    seen: set[str] = set()
    options: list[Choice] = []
    for option in prompt.options:
        label = truncate_to(redact(option.label), MAX_LABEL_LENGTH)
        base, n = label, 2
        while label.strip().casefold() in seen:
            label = truncate_to(base, MAX_LABEL_LENGTH - 4) + f" ({n})"
            n += 1
        seen.add(label.strip().casefold())
        options.append(dataclasses.replace(option, label=label))
    return dataclasses.replace(
        prompt,
        title=redact(prompt.title),
        body=redact(prompt.body),
        options=tuple(options),
    )


def redact_file(data: bytes, redact: Redactor) -> bytes:
    """Text content redacted (as UTF-8); binary data (images) cannot be, and passes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(data) - 3:
            return data
        text = data[: exc.start].decode("utf-8")  # text cut inside its last character
    cleaned = redact(text)
    return data if cleaned == text else cleaned.encode("utf-8")
