"""The outgoing boundary: whatever the shared layer sends, the chat sees it redacted."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from chat_adapters.choices import Choice, ChoicePrompt
from chat_adapters.claude_commands import CommandMenu
from chat_adapters.file_delivery import PhotoSender
from chat_adapters.redacting_surface import RedactedSurface, guard, redact_file
from chat_adapters.redaction import MASK, Redactor
from chat_adapters.streaming import StreamingReply
from chat_adapters.surface import Capabilities, LiveReply, MessageRef, StopCallback, Surface
from session_core.events import TextDelta, ToolFinished, ToolStarted, TurnFinished, TurnStarted
from storage import ChatKey
from tests.fakes.memory_surface import MemorySurface

BOT_TOKEN = "987654:own-bot-token-value"
KEY = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"
REDACT = Redactor.with_secrets([BOT_TOKEN])


def everything_shown(surface: MemorySurface) -> str:
    parts: list[str] = []
    for message in surface.messages:
        parts += [shown.text + "\n".join(shown.status) for shown in message.history]
        parts += [message.file_name or "", (message.file_data or b"").decode("utf-8", "replace")]
        parts += list(message.buttons)
    for prompt in surface.prompts:
        parts += [prompt.title, prompt.body, *(o.label for o in prompt.options)]
    return "\n".join(parts)


async def test_a_streamed_reply_never_shows_a_secret_in_any_edit() -> None:
    memory = MemorySurface(dataclasses.replace(MemorySurface().capabilities, min_edit_interval_s=0))
    reply = StreamingReply(guard(memory, REDACT), verbosity=2)
    text = f"The token is {BOT_TOKEN} and the key {KEY}, ok."
    await reply.handle(TurnStarted(session_id="s1", working_directory="/tmp", resumed=False))
    for i in range(0, len(text), 3):  # deltas cut anywhere, secrets split across them
        await reply.handle(TextDelta(text=text[i : i + 3]))
        await asyncio_yield()
    await reply.handle(ToolStarted(tool_use_id="t1", name="Bash", input={"command": f"echo {KEY}"}))
    await reply.handle(ToolFinished("t1", "Bash", is_error=False, output=BOT_TOKEN))
    await reply.handle(TurnFinished(outcome="success", session_id="s1"))
    shown = everything_shown(memory)
    assert len(memory.messages[0].history) > 2, "it really streamed"
    for secret in (BOT_TOKEN, KEY, "own-bot-token", "abcdefghijklmnop"):
        assert secret not in shown
    assert f"The token is {MASK} and the key {MASK}, ok." in memory.messages[-1].text


async def asyncio_yield() -> None:
    import asyncio

    for _ in range(3):
        await asyncio.sleep(0)


async def test_prompts_files_and_texts_are_redacted() -> None:
    memory = MemorySurface()
    surface = guard(memory, REDACT)
    await surface.send_text(f"history: {KEY}")
    await surface.deliver_file(f"out-{BOT_TOKEN}.txt", f"line {KEY}\n".encode(), f"cap {KEY}")
    prompt = ChoicePrompt(
        title=f"Allow {KEY}?",
        body=f"`curl -H 'Authorization: Bearer {KEY}'` and {BOT_TOKEN}",
        options=(Choice("a", f"run {KEY}"), Choice("b", f"run {BOT_TOKEN}"), Choice("c", "No")),
        timeout_choice="c",
        timeout_s=0.05,
    )
    answer = await surface.ask_choice(prompt)
    assert answer.choice_id == "c"
    shown = everything_shown(memory)
    assert KEY not in shown and BOT_TOKEN not in shown and "abcdefghijklmnop" not in shown
    labels = [o.label for o in memory.prompts[0].options]
    assert labels == [f"run {MASK}", f"run {MASK} (2)", "No"], "still a valid prompt"


def test_binary_files_pass_and_text_cut_mid_character_is_still_redacted() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff" + KEY.encode()
    assert redact_file(png, REDACT) == png
    cut = (KEY + " é").encode()[:-1]
    assert redact_file(cut, REDACT) == f"{MASK} ".encode()


class Threads(MemorySurface):
    """A memory surface that can open threads, like Discord's."""

    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []
        self.opened: list[MemorySurface] = []

    async def open_thread(self, title: str, existing: str | None = None) -> tuple[Surface, ChatKey]:
        self.titles.append(title)
        thread = MemorySurface(surface_id=f"thread:{len(self.titles)}")
        self.opened.append(thread)
        return thread, ChatKey("discord", "1", str(len(self.titles)))


async def test_thread_names_and_thread_messages_are_redacted() -> None:
    surface = guard(Threads(), REDACT)
    assert hasattr(surface, "open_thread") and guard(surface, REDACT) is surface
    thread, _ = await surface.open_thread(f"fix {KEY}")
    await thread.send_text(f"in thread {BOT_TOKEN}")
    assert isinstance(thread, RedactedSurface)
    inner = surface.inner  # type: ignore[attr-defined]
    assert inner.titles == [f"fix {MASK}"]
    assert inner.opened[0].messages[0].text == f"in thread {MASK}"


class _Live:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    async def update(self, text: str, status: object = ()) -> None:
        self.calls.append((text, tuple(status)))  # type: ignore[arg-type]

    async def finalize(self, text: str, status: object = ()) -> MessageRef:
        self.calls.append((text, tuple(status)))  # type: ignore[arg-type]
        return MessageRef("1")


class _Tiny(MemorySurface):
    live = _Live()

    async def open_live_reply(self, *, on_stop: StopCallback | None = None) -> LiveReply:  # type: ignore[override]
        return self.live


async def test_a_mask_longer_than_a_short_secret_still_fits_the_live_budget() -> None:
    caps = Capabilities(max_message_length=64, can_edit=True)
    tiny = _Tiny(caps)
    redact = Redactor.with_secrets(["abcd"])
    live = await guard(tiny, redact).open_live_reply()
    await live.update("abcd " * (caps.text_budget // 5))
    assert caps.measure(tiny.live.calls[-1][0]) <= caps.text_budget
    assert "abcd" not in tiny.live.calls[-1][0]


async def test_a_long_reply_is_never_split_inside_a_secret() -> None:
    """The bearer value alone in the next message has no shape the redactor knows; the
    reply is split before the header instead, wherever the message limit falls."""
    caps = Capabilities(max_message_length=200, can_edit=True, min_edit_interval_s=0)
    token = "abcdefghijklmnopqrstuvwxyz012345"
    for n in range(20, 36):
        memory = MemorySurface(caps)
        redact = Redactor()
        reply = StreamingReply(guard(memory, redact), verbosity=0, redactor=redact)
        text = "word " * n + f"Authorization: Bearer {token} and the end."
        await reply.handle(TurnStarted(session_id="s", working_directory="/tmp", resumed=False))
        await reply.handle(TextDelta(text=text))
        await reply.handle(TurnFinished(outcome="success", session_id="s"))
        shown = everything_shown(memory)
        assert token[:10] not in shown, (n, [m.text for m in memory.messages])
        assert len(memory.messages) >= 2 and "the end." in shown
        assert reply.stats.delivered_ratio == 1.0


class PhotosAndMenu(MemorySurface):
    """A memory surface that shows photos and a command menu, like Telegram's."""

    def __init__(self) -> None:
        super().__init__()
        self.photos: list[tuple[str, bytes, str]] = []
        self.menus: list[list[tuple[str, str]]] = []

    async def deliver_photo(self, name: str, data: bytes, caption: str = "") -> MessageRef:
        self.photos.append((name, data, caption))
        return MessageRef(str(len(self.photos)))

    async def set_chat_commands(self, commands: Sequence[tuple[str, str]]) -> None:
        self.menus.append(list(commands))


async def test_photos_and_the_command_menu_pass_the_guard_redacted() -> None:
    inner = PhotosAndMenu()
    surface = guard(inner, REDACT)
    assert isinstance(surface, PhotoSender) and isinstance(surface, CommandMenu)
    assert not hasattr(surface, "open_thread")
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    await surface.deliver_photo(f"chart-{BOT_TOKEN}.png", png, f"see {KEY}")
    assert inner.photos == [(f"chart-{MASK}.png", png, f"see {MASK}")]
    await surface.set_chat_commands([("deploy", f"Deploy with {KEY}"), ("help", "Help")])
    assert inner.menus == [[("deploy", f"Deploy with {MASK}"), ("help", "Help")]]


async def test_a_plain_surface_gains_no_photo_menu_or_thread_through_the_guard() -> None:
    surface = guard(MemorySurface(), REDACT)
    assert not isinstance(surface, PhotoSender) and not isinstance(surface, CommandMenu)
    assert not hasattr(surface, "open_thread")
    threads = guard(Threads(), REDACT)
    assert hasattr(threads, "open_thread") and not isinstance(threads, PhotoSender)
