"""The plain values the SDK boundary and the runner share, free of ``claude_agent_sdk``.

The runner imports these at start-up; ``sdk_connection`` (and with it the SDK and
``mcp``, over a second of imports) is loaded only when the first connection is made, so
``baton run`` connects its chat apps without waiting for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from session_core.events import TurnFinished
from session_core.vocabulary import PermissionMode

_REASON_LIMIT = 300


@dataclass(frozen=True, slots=True)
class TurnOptions:
    """What the runner decided for a connection, in our words (no SDK types)."""

    cwd: str
    env: Mapping[str, str]
    resume: str | None = None
    session_id: str | None = None
    """Pin a brand-new session's id, so the runner knows it before the CLI starts."""
    fork_session: bool = False
    model: str | None = None
    max_turns: int | None = None
    max_budget_usd: float | None = None
    with_approvals: bool = False
    permission_mode: PermissionMode | None = None
    cli_path: str | None = None
    """The Claude Code CLI to run (see ``claude_cli.choose_cli``); None: the bundled one."""
    bypass_allowed: bool = False
    """The operator allows bypass (``BATON_ALLOW_BYPASS``); without it a bypass turn
    runs in ``default`` mode and never gets ``IS_SANDBOX``."""
    chat_tools: bool = False
    """Offer the chat's own tools (``send_to_chat``): only when a chat drives the turn."""


@dataclass(slots=True)
class TranslationState:
    """What ``translate`` remembers between messages of one turn."""

    session_id: str | None = None
    interrupt_requested: bool = False
    streamed: dict[str, dict[int, str]] = field(default_factory=dict)
    """message id -> content block index -> text streamed as deltas."""
    matched: dict[str, int] = field(default_factory=dict)
    """message id -> how many streamed text blocks a full AssistantMessage covered."""
    current_message_id: str | None = None
    tool_names: dict[str, str] = field(default_factory=dict)
    api_error: str | None = None
    api_error_text: str | None = None
    finished: TurnFinished | None = None


class SdkError(Exception):
    """A call across the SDK boundary failed: the CLI could not start, resume, or carry
    on. ``reason`` is one short line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def short_reason(text: str) -> str:
    """The first line of ``text``, cut to a length a chat line can hold."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= _REASON_LIMIT else line[: _REASON_LIMIT - 1] + "…"
