"""An in-memory Surface: the smallest full implementation of the contract.

It records instead of sending, and it holds itself to the rules a real app enforces
(message length, no edits after finalize, budgets for live content), so code driven
against it cannot quietly break them. It also proves the contract is satisfiable: the
conformance suite passes against it, so a failing check points at the app adapter.

The person's side is driven with :meth:`MemorySurface.choose`, :meth:`reply` and
:meth:`press_stop`. :class:`VirtualClock` makes pacing tests instant.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from chat_adapters.choices import ChoiceAnswer, ChoicePrompt
from chat_adapters.interactions import answer_note
from chat_adapters.surface import (
    Capabilities,
    MessageRef,
    StopCallback,
    Unsupported,
    check_file_name,
)
from chat_adapters.text_split import split_markdown

T = TypeVar("T")

TELEGRAM_LIKE = Capabilities(
    max_message_length=4096,
    length_unit="utf16",
    can_edit=True,
    min_edit_interval_s=1.0,
    button_data_limit_bytes=64,
    max_buttons_per_row=3,
    has_threads=True,
    supports_files=True,
    max_file_bytes=1 << 20,
)


class VirtualClock:
    """Time that moves only when the test says so.

    Code under test gets ``clock`` and ``clock.sleep``: a sleeper waits until the test
    moves time past its deadline with :meth:`advance` (or :meth:`run`), so pacing and
    coalescing behave as in real time, instantly.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, next(self._order), future))
        try:
            await future
        finally:
            self._sleepers = [s for s in self._sleepers if s[2] is not future]

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its own deadline, in order."""
        target = self.now + seconds
        while True:
            await _settle()
            due = [s for s in self._sleepers if s[0] <= target and not s[2].done()]
            if not due:
                break
            deadline, _, future = min(due)
            self.now = max(self.now, deadline)
            future.set_result(None)
        self.now = target
        await _settle()

    async def run(self, awaitable: Awaitable[T], *, step: float = 0.25, limit_s: float = 10) -> T:
        """Await ``awaitable`` while time moves on in steps (e.g. a final delivery that
        has to wait out a pacing interval); fails after ``limit_s`` of real time."""
        task = asyncio.ensure_future(awaitable)
        try:
            async with asyncio.timeout(limit_s):
                while not task.done():
                    await self.advance(step)
                    await asyncio.sleep(0.001)  # real time too, for code on real I/O
        finally:
            if not task.done():
                task.cancel()
        return task.result()


async def _settle() -> None:
    """Let woken tasks run until they block again."""
    for _ in range(20):
        await asyncio.sleep(0)


MessageKind = Literal["text", "live", "prompt", "file"]


@dataclass(frozen=True, slots=True)
class Shown:
    at: float
    text: str
    status: tuple[str, ...]


@dataclass
class MemoryMessage:
    message_id: str
    text: str
    kind: MessageKind = "text"
    status: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()
    file_name: str | None = None
    file_data: bytes | None = None
    history: list[Shown] = field(default_factory=list)
    """Every content it showed: the send, then each edit."""

    @property
    def display(self) -> str:
        """What the person sees: text, then status lines after a blank line."""
        if not self.status:
            return self.text
        return (self.text.rstrip() + "\n\n" if self.text.strip() else "") + "\n".join(self.status)


@dataclass(frozen=True, slots=True)
class Operation:
    at: float
    kind: Literal["send", "edit"]
    message_id: str


class MemorySurface:
    """See the module doc."""

    def __init__(
        self,
        capabilities: Capabilities = TELEGRAM_LIKE,
        *,
        surface_id: str = "memory:1",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capabilities = capabilities
        self._surface_id = surface_id
        self.clock = clock
        self.messages: list[MemoryMessage] = []
        self.operations: list[Operation] = []
        self.live_replies: list[MemoryLiveReply] = []
        self.prompts: list[ChoicePrompt] = []
        self.inbox: list[str] = []
        """Typed messages that answered no prompt."""
        self._ids = itertools.count(1)
        self._pending: tuple[ChoicePrompt, asyncio.Future[ChoiceAnswer]] | None = None

    @property
    def surface_id(self) -> str:
        return self._surface_id

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    # -- Surface --------------------------------------------------------------------

    async def send_text(self, text: str) -> MessageRef:
        if not text.strip():
            raise ValueError("refusing to send a blank message")
        refs = [self._send(chunk) for chunk in self._split(text)]
        return refs[0]

    async def open_live_reply(self, *, on_stop: StopCallback | None = None) -> MemoryLiveReply:
        live = MemoryLiveReply(self, on_stop)
        self.live_replies.append(live)
        return live

    async def ask_choice(self, prompt: ChoicePrompt) -> ChoiceAnswer:
        if self._pending is not None:
            raise RuntimeError("one prompt at a time on this surface")
        self.prompts.append(prompt)
        # Split at the text budget: the last chunk later carries the answer as status.
        chunks = self._split(
            f"**{prompt.title}**\n\n{prompt.body}".rstrip(), self._capabilities.text_budget
        )
        refs = [self._send(chunk, kind="prompt") for chunk in chunks]
        shown = self.message(refs[-1].message_id)
        labels = tuple(option.label for option in prompt.options)
        if self._capabilities.has_buttons:
            self._edit(shown, shown.text, buttons=labels)
        else:
            listing = "\n".join(f"{i}. {label}" for i, label in enumerate(labels, start=1))
            self._send(listing, kind="prompt")
        future: asyncio.Future[ChoiceAnswer] = asyncio.get_running_loop().create_future()
        self._pending = (prompt, future)
        answer: ChoiceAnswer | None = None
        try:
            async with asyncio.timeout(prompt.timeout_s):
                answer = await future
        except TimeoutError:
            answer = prompt.timeout_answer()
        finally:
            self._pending = None
            self._edit(shown, shown.text, status=(answer_note(prompt, answer),), buttons=())
        assert answer is not None
        return answer

    async def deliver_file(self, name: str, data: bytes, caption: str = "") -> MessageRef:
        if not self._capabilities.supports_files:
            raise Unsupported(f"{self._surface_id} cannot take files")
        check_file_name(name)
        if len(data) > self._capabilities.max_file_bytes:
            raise ValueError(f"{len(data)} bytes exceed {self._capabilities.max_file_bytes}")
        ref = self._send(caption, kind="file")
        message = self.message(ref.message_id)
        message.file_name, message.file_data = name, data
        return ref

    # -- the person's side ------------------------------------------------------------

    @property
    def pending_prompt(self) -> ChoicePrompt | None:
        return self._pending[0] if self._pending else None

    def choose(self, label: str) -> None:
        """Press the button labelled ``label`` on the open prompt."""
        if self._pending is None:
            raise LookupError("no prompt is waiting for an answer")
        prompt, future = self._pending
        option = next((o for o in prompt.options if o.label == label), None)
        if option is None:
            raise LookupError(f"no button {label!r} on {prompt.title!r}")
        if not future.done():
            future.set_result(prompt.answer(option.id))

    def reply(self, text: str) -> None:
        """The person types ``text``: the answer to an open free-text prompt, if any."""
        if self._pending is not None and self._pending[0].allows_free_text:
            prompt, future = self._pending
            if not future.done():
                future.set_result(prompt.free_text_answer(text))
                return
        self.inbox.append(text)

    async def press_stop(self) -> bool:
        for live in reversed(self.live_replies):
            if live.stop_visible:
                await live.press_stop()
                return True
        return False

    # -- records ------------------------------------------------------------------------

    def message(self, message_id: str) -> MemoryMessage:
        return next(m for m in self.messages if m.message_id == message_id)

    def transcript(self, *kinds: MessageKind) -> str:
        """The text of all messages (or those of ``kinds``), in order, run together."""
        return "".join(m.text for m in self.messages if not kinds or m.kind in kinds)

    def _split(self, text: str, limit: int | None = None) -> list[str]:
        caps = self._capabilities
        chunks = split_markdown(text, limit or caps.max_message_length, caps.measure)
        return [chunk for chunk in chunks if chunk.strip()]

    def _check_length(self, message: MemoryMessage) -> None:
        size = self._capabilities.measure(message.display)
        if size > self._capabilities.max_message_length:
            raise ValueError(
                f"message is {size} long; {self._surface_id} allows "
                f"{self._capabilities.max_message_length}"
            )

    def _send(
        self,
        text: str,
        status: Sequence[str] = (),
        buttons: tuple[str, ...] = (),
        kind: MessageKind = "text",
    ) -> MessageRef:
        message = MemoryMessage(str(next(self._ids)), text, kind, tuple(status), buttons)
        self._check_length(message)
        message.history.append(Shown(self.clock(), message.text, message.status))
        self.messages.append(message)
        self.operations.append(Operation(self.clock(), "send", message.message_id))
        return MessageRef(message.message_id)

    def _edit(
        self,
        message: MemoryMessage,
        text: str,
        status: Sequence[str] = (),
        buttons: tuple[str, ...] = (),
    ) -> None:
        if (message.text, message.status, message.buttons) == (text, tuple(status), buttons):
            return  # "message is not modified": success, and no operation spent
        edited = MemoryMessage(message.message_id, text, message.kind, tuple(status), buttons)
        self._check_length(edited)
        message.text, message.status, message.buttons = text, tuple(status), buttons
        message.history.append(Shown(self.clock(), text, tuple(status)))
        self.operations.append(Operation(self.clock(), "edit", message.message_id))


class MemoryLiveReply:
    """One live message of a :class:`MemorySurface`."""

    def __init__(self, surface: MemorySurface, on_stop: StopCallback | None) -> None:
        self.surface = surface
        self.on_stop = on_stop
        self.message: MemoryMessage | None = None
        self.updates = 0
        self.finalized = False
        self.stopped = False

    @property
    def stop_visible(self) -> bool:
        return self.message is not None and bool(self.message.buttons) and not self.finalized

    async def press_stop(self) -> None:
        if self.stop_visible and not self.stopped and self.on_stop is not None:
            self.stopped = True
            await self.on_stop()

    async def update(self, text: str, status: Sequence[str] = ()) -> None:
        if self.finalized:
            raise RuntimeError("live reply already finalized")
        caps = self.surface.capabilities
        if caps.measure(text) > caps.text_budget:
            raise ValueError(f"live text is {caps.measure(text)} long, over {caps.text_budget}")
        if caps.measure("\n".join(status)) > caps.status_budget:
            raise ValueError("status lines exceed the status budget")
        self.updates += 1
        if not caps.can_edit:
            return
        buttons = ("Stop",) if self.on_stop is not None and caps.has_buttons else ()
        if self.message is None:
            ref = self.surface._send(text, status, buttons, kind="live")
            self.message = self.surface.message(ref.message_id)
        else:
            self.surface._edit(self.message, text, status, buttons)

    async def finalize(self, text: str, status: Sequence[str] = ()) -> MessageRef:
        if self.finalized:
            raise RuntimeError("live reply already finalized")
        if not text.strip() and not status:
            raise ValueError("finalize needs text or a status line")
        self.finalized = True
        caps = self.surface.capabilities
        chunks = split_markdown(text, caps.text_budget, caps.measure) or [""]
        chunks = [c for c in chunks if c.strip()] or [""]
        first_status = tuple(status) if len(chunks) == 1 else ()
        if self.message is None:
            ref = self.surface._send(chunks[0], first_status, kind="live")
            self.message = self.surface.message(ref.message_id)
        else:
            self.surface._edit(self.message, chunks[0], first_status)
        for i, chunk in enumerate(chunks[1:], start=2):
            self.surface._send(chunk, tuple(status) if i == len(chunks) else (), kind="live")
        return MessageRef(self.message.message_id)
