"""What a turn's reply says besides the model's text: a line per tool, how the turn
ended, why it has not started yet, and the delivery counts kept for benchmarks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chat_adapters.choices import tool_input_summary
from chat_adapters.redaction import Redactor
from chat_adapters.surface import truncate_to
from session_core.events import Outcome, TurnFinished, WaitingForSlot

VERBOSITY_LEVELS = (0, 1, 2)
"""0: text only. 1: plus a line per tool (name). 2: plus tool inputs and outputs."""

_OUTCOME_LINES: dict[Outcome, str] = {
    "success": "",
    "interrupted": "⏹ Interrupted",
    "max_turns": "⚠️ Stopped: maximum number of turns reached",
    "budget_exceeded": "⚠️ Stopped: budget exceeded",
    "api_error": "❌ API error",
    "resume_failed": "❌ Could not resume the session",
    "error": "❌ Failed",
}
DONE_LINE = "✓ Done"


@dataclass(slots=True)
class DeliveryStats:
    """What one reply produced and delivered, for benchmarks and the audit log."""

    produced_bytes: int = 0
    """UTF-8 bytes of model text received (deltas, or the result text if no deltas)."""
    delivered_bytes: int = 0
    """UTF-8 bytes of that text inside messages the surface finalized."""
    updates: int = 0
    """Live updates (edits) that went through."""
    messages: int = 0
    """Messages completed: finalized live messages and tool-line batches."""
    failures: int = 0
    """Surface calls that raised; a failed finalize means text did not arrive."""

    @property
    def delivered_ratio(self) -> float:
        return 1.0 if self.produced_bytes == 0 else self.delivered_bytes / self.produced_bytes


def waiting_text(event: WaitingForSlot) -> str:
    """Why nothing happens yet: every Claude process slot runs a turn."""
    where = f"{event.ahead} ahead" if event.ahead else "next in line"
    return (
        f"⏳ All {event.limit} Claude process slots are busy: waiting for a free slot "
        f"({where}). It starts on its own."
    )


def outcome_line(finished: TurnFinished) -> str:
    """A short line saying how a turn ended; empty for success."""
    line = _OUTCOME_LINES.get(finished.outcome, "❌ Failed")
    if line and finished.error:
        line = f"{line}: {' '.join(finished.error.split())}"
    return line


def tool_line(
    name: str,
    tool_input: Mapping[str, Any],
    verbosity: int,
    *,
    state: str = "running",
    output: str = "",
    redactor: Redactor | None = None,
) -> str:
    """``▸ Bash`` while running, ``✓``/``✗`` when done; at verbosity 2 with its input
    and the first line of its output, both truncated and redacted."""
    redactor = redactor or Redactor()
    mark = {"running": "▸", "ok": "✓", "error": "✗"}.get(state, "▸")
    line = f"{mark} {name or 'tool'}"
    if verbosity >= 2:
        summary = tool_input_summary(name, tool_input, limit=80, redact=redactor)
        if summary:
            line += f": {summary}"
        first = next((part.strip() for part in output.splitlines() if part.strip()), "")
        if state != "running" and first:
            line += f" → {truncate_to(' '.join(redactor(first).split()), 60)}"
    return line
