"""Typed turn events: the whole vocabulary between session_core and the adapters.

Every turn yields exactly one ``TurnStarted`` first and exactly one ``TurnFinished``
last; everything in between is deltas, tool lines and approval requests. Only
``WaitingForSlot`` may come before ``TurnStarted``: the turn waits for a free Claude
process slot, and the person should know why nothing happens yet. Values are
frozen so an adapter can keep, compare and replay them safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

Outcome: TypeAlias = Literal[
    "success",
    "interrupted",
    "max_turns",
    "budget_exceeded",
    "api_error",
    "resume_failed",
    "error",
]
"""How a turn ended. ``resume_failed`` is only used when no fresh fallback ran."""


@dataclass(frozen=True, slots=True)
class ImageInput:
    """An image that goes to the model as an image content block, beside the prompt."""

    media_type: str
    data: bytes

    def __post_init__(self) -> None:
        if self.media_type not in ("image/jpeg", "image/png", "image/gif", "image/webp"):
            raise ValueError(f"unsupported image type {self.media_type!r}")


@dataclass(frozen=True, slots=True)
class ResumeFailure:
    """A resume that did not work: which session, and what Claude Code said."""

    session_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


@dataclass(frozen=True, slots=True)
class TurnStarted:
    session_id: str
    working_directory: str
    resumed: bool
    resume_failure: ResumeFailure | None = None
    type: Literal["turn_started"] = "turn_started"


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    type: Literal["text_delta"] = "text_delta"


@dataclass(frozen=True, slots=True)
class ToolStarted:
    tool_use_id: str
    name: str
    input: dict[str, Any] = field(default_factory=dict)
    type: Literal["tool_started"] = "tool_started"


@dataclass(frozen=True, slots=True)
class ToolFinished:
    tool_use_id: str
    name: str
    is_error: bool
    output: str = ""
    type: Literal["tool_finished"] = "tool_finished"


@dataclass(frozen=True, slots=True)
class TurnFinished:
    outcome: Outcome
    session_id: str
    result_text: str = ""
    cost_usd: float = 0.0
    usage: Usage = field(default_factory=Usage)
    duration_ms: int = 0
    error: str | None = None
    resume_failure: ResumeFailure | None = None
    type: Literal["turn_finished"] = "turn_finished"

    @property
    def ok(self) -> bool:
        return self.outcome == "success"


@dataclass(frozen=True, slots=True)
class WaitingForSlot:
    """Every Claude process slot (``limit``) runs a turn; this one waits, ``ahead``
    others before it."""

    ahead: int
    limit: int
    type: Literal["waiting_for_slot"] = "waiting_for_slot"


TurnEvent: TypeAlias = (
    WaitingForSlot | TurnStarted | TextDelta | ToolStarted | ToolFinished | TurnFinished
)
