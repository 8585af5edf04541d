"""The seam between the shared chat layer and one app: a *surface* is one chat, thread
or forum topic, and it speaks in intents, not API calls.

Shared code says "send this", "keep one reply current", "ask this", "deliver this file";
each app does that its own way (Telegram entities and inline keyboards, Discord Markdown
and components). Shared code never asks which app it is talking to; it reads
:class:`Capabilities`, whose defaults all say "not supported", so a forgotten field
degrades to plain behaviour instead of a platform error. Only the length limit has no
default: nothing can be sent without it.

All text handed to a surface is Markdown as Claude writes it; rendering is the
surface's job. ``tests/conformance/surface_suite.py`` checks every implementation
against this contract through its fake server.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

from chat_adapters.choices import ChoiceAnswer, ChoicePrompt
from chat_adapters.text_split import utf16_length
from storage.preferences import ChatKey

LengthUnit: TypeAlias = Literal["utf16", "characters"]
StopCallback: TypeAlias = Callable[[], Awaitable[None]]

MIN_MESSAGE_LENGTH = 64
"""No chat app allows less; below this, a status line and a fence would not fit."""


class Unsupported(Exception):
    """The surface cannot do this at all (its Capabilities said so)."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a surface can do. Everything but the length limit defaults to "no"."""

    max_message_length: int
    """The most a message may hold, in ``length_unit``."""
    length_unit: LengthUnit = "utf16"
    """How the app counts: Telegram in UTF-16 code units, Discord in characters.
    UTF-16 is the default because it never undercounts."""
    can_edit: bool = False
    """A sent message can be edited in place (a live reply updates instead of resending)."""
    min_edit_interval_s: float = 3.0
    """Least time between two operations of one live reply."""
    button_data_limit_bytes: int | None = None
    """Bytes a button may carry back (Telegram 64, Discord 100); None: no buttons at all,
    choices are answered by typing."""
    max_buttons_per_row: int = 1
    has_threads: bool = False
    supports_files: bool = False
    max_file_bytes: int = 0

    def __post_init__(self) -> None:
        if self.max_message_length < MIN_MESSAGE_LENGTH:
            raise ValueError(
                f"max_message_length must be at least {MIN_MESSAGE_LENGTH}, "
                f"got {self.max_message_length}"
            )
        if self.length_unit not in ("utf16", "characters"):
            raise ValueError(f"length_unit must be 'utf16' or 'characters': {self.length_unit!r}")
        if not (math.isfinite(self.min_edit_interval_s) and self.min_edit_interval_s >= 0):
            raise ValueError(f"min_edit_interval_s must be >= 0: {self.min_edit_interval_s!r}")
        if self.button_data_limit_bytes is not None and self.button_data_limit_bytes < 1:
            raise ValueError("button_data_limit_bytes must be positive or None (no buttons)")
        if self.max_buttons_per_row < 1:
            raise ValueError("max_buttons_per_row must be at least 1")
        if self.max_file_bytes < 0 or (self.supports_files and self.max_file_bytes == 0):
            raise ValueError("a surface that supports files must say how large (max_file_bytes)")

    def measure(self, text: str) -> int:
        """Length of ``text`` as this app counts it."""
        return utf16_length(text) if self.length_unit == "utf16" else len(text)

    @property
    def has_buttons(self) -> bool:
        return self.button_data_limit_bytes is not None

    @property
    def status_budget(self) -> int:
        """Room for a live reply's status lines (``"\\n".join(status)``, measured)."""
        return min(400, self.max_message_length // 5)

    @property
    def text_budget(self) -> int:
        """Room for a live reply's text; with status and a blank line between, one
        message never exceeds ``max_message_length``."""
        return self.max_message_length - self.status_budget - 2


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message a surface sent, by the app's own id."""

    message_id: str


class LiveReply(Protocol):
    """One message kept current while a turn runs, then finalized exactly once.

    ``text`` is the whole Markdown content so far (not a delta): an update is
    idempotent, and an edit that changes nothing is not an error. ``status`` holds
    short plain-text lines (tool activity, outcome) shown apart from the text, never
    parsed as Markdown. Callers keep ``measure(text) <= text_budget`` and
    ``measure("\\n".join(status)) <= status_budget``, and pace calls by
    ``min_edit_interval_s``.

    Nothing is visible before the first ``update`` or ``finalize``. On a surface that
    cannot edit, ``update`` shows nothing and ``finalize`` sends the message.
    """

    async def update(self, text: str, status: Sequence[str] = ()) -> None:
        """Show this content now. Raises RuntimeError after ``finalize``."""
        ...

    async def finalize(self, text: str, status: Sequence[str] = ()) -> MessageRef:
        """Make this the message's last content and remove its Stop button.

        Everything in ``text`` is shown: if the app's rendering needs more than one
        message, continuation messages follow. ``text`` and ``status`` must not both
        be blank (ValueError). A second call raises RuntimeError.
        """
        ...


class Surface(Protocol):
    """One chat, thread or topic, as the shared layer sees it."""

    @property
    def surface_id(self) -> str:
        """Stable across restarts, e.g. ``telegram:<chat>:<topic>``."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def send_text(self, text: str) -> MessageRef:
        """Send Markdown of any length, split into as many messages as needed without
        breaking code blocks. Returns the first message. Blank text: ValueError."""
        ...

    async def open_live_reply(self, *, on_stop: StopCallback | None = None) -> LiveReply:
        """A new live reply. With ``on_stop`` and buttons, it carries a Stop button
        until finalized; a press calls ``on_stop`` once. Sends nothing yet."""
        ...

    async def ask_choice(self, prompt: ChoicePrompt) -> ChoiceAnswer:
        """Show the prompt (title, Markdown body of any length, its options) and wait.

        Returns the pressed option (``prompt.answer(id)``), typed text when
        ``prompt.allows_free_text``, or after ``prompt.timeout_s`` without an answer
        ``prompt.timeout_answer()``. Either way the buttons go away and the chat shows
        what was chosen (and that time ran out, if it did).
        """
        ...

    async def deliver_file(self, name: str, data: bytes, caption: str = "") -> MessageRef:
        """Send ``data`` as a file called ``name`` (a bare file name: see
        :func:`check_file_name`), with an optional short plain-text caption.
        Raises :class:`Unsupported` unless ``capabilities.supports_files``, and
        ValueError when ``data`` exceeds ``capabilities.max_file_bytes``."""
        ...


def check_open(finalized: bool) -> None:
    """The LiveReply contract: nothing changes after ``finalize``."""
    if finalized:
        raise RuntimeError("live reply already finalized")


def check_finalize(finalized: bool, text: str, status: Sequence[str]) -> None:
    """The LiveReply contract for ``finalize``: once only, and never blank."""
    check_open(finalized)
    if not text.strip() and not any(line.strip() for line in status):
        raise ValueError("finalize needs text or a status line")


def surface_id_of(key: ChatKey) -> str:
    """The surface id of a chat, thread or topic: ``<app>:<chat>[:<thread>]``."""
    if key.thread_id:
        return f"{key.app}:{key.chat_id}:{key.thread_id}"
    return f"{key.app}:{key.chat_id}"


def check_file_name(name: str) -> str:
    """``name`` if it is a bare, usable file name; ValueError otherwise.

    A name a model wrote must never become a path in an upload request.
    """
    if (
        not name.strip()
        or name != name.strip()
        or name in (".", "..")
        or posixpath.basename(name.replace("\\", "/")) != name
        or any(ord(c) < 32 for c in name)
    ):
        raise ValueError(f"not a bare file name: {name!r}")
    return name


def fit_status(lines: Sequence[str], capabilities: Capabilities) -> tuple[str, ...]:
    """The newest ``lines`` that fit ``status_budget`` together, each made one line, led
    by a count of the older ones left out."""
    budget, measure = capabilities.status_budget, capabilities.measure
    clean = [truncate_to(" ".join(line.split()), budget, measure) for line in lines[-50:]]
    clean = [line for line in clean if line]
    older = len(lines) - len(clean)
    for keep in range(len(clean), 0, -1):
        shown = clean[len(clean) - keep :]
        left_out = older + len(clean) - keep
        if left_out:
            shown = [f"… {left_out} earlier", *shown]
        if measure("\n".join(shown)) <= budget:
            return tuple(shown)
    return ()


def truncate_to(text: str, limit: int, measure: Callable[[str], int] = len) -> str:
    """``text``, cut with an ellipsis if needed so that ``measure`` of it is <= ``limit``."""
    if measure(text) <= limit:
        return text
    if limit < 1:
        return ""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid].rstrip() + "…") <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…" if lo or measure("…") <= limit else ""
