"""What the chat shows about sessions, as Markdown: pure functions, easy to test.

Every app renders the same words; only the surface turns Markdown into its own
format. Labels are kept to one line and a button's size.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from datetime import datetime

from chat_adapters.commands import CommandSpec
from chat_adapters.relative_time import ago
from session_core.catalog import SessionSummary
from session_core.transcript import TranscriptMessage

LABEL_LIMIT = 64


def one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(1, limit - 1)].rstrip() + "…"


def short_id(session_id: str) -> str:
    return session_id[:8]


def session_label(summary: SessionSummary, now: datetime | None = None) -> str:
    """``first prompt · 5 min ago · 3`` (+ 🖥 when a terminal holds it), one button long."""
    suffix = f" · {ago(summary.last_activity, now)} · {summary.prompt_count}"
    if summary.live is not None:
        suffix += " · 🖥"
    title = summary.first_prompt or short_id(summary.session_id)
    return one_line(title, LABEL_LIMIT - len(suffix)) + suffix


def door_phrase(doors: Sequence[str]) -> str:
    """Where a session was last used, in words: "in the terminal", "from Telegram"."""
    if not doors or doors[0] in ("terminal", "cli"):
        return "in the terminal"
    return f"from {doors[0].capitalize()}"


def picker_line(index: int, summary: SessionSummary, doors: Sequence[str], now: datetime) -> str:
    """One line of the /sessions list: which doors used it, and when."""
    used = ", ".join(_DOOR_NAMES.get(d, d) for d in doors) or "terminal"
    live = " · 🖥 open in a terminal now" if summary.live is not None else ""
    return (
        f"{index}. `{short_id(summary.session_id)}` {ago(summary.last_activity, now)} · "
        f"used from {used}{live}"
    )


_DOOR_NAMES = {
    "terminal": "terminal",
    "cli": "baton ask",
    "telegram": "Telegram",
    "discord": "Discord",
}


def continuing_notice(summary: SessionSummary, doors: Sequence[str], now: datetime) -> str:
    title = one_line(summary.first_prompt or short_id(summary.session_id), 80)
    return (
        f"Continuing “{title}” (`{short_id(summary.session_id)}`, last used "
        f"{door_phrase(doors)} {ago(summary.last_activity, now)})."
    )


def preview_lines(messages: Iterable[TranscriptMessage], limit: int = 300) -> str:
    lines = []
    for message in messages:
        who = "You" if message.role == "user" else "Claude"
        tools = (
            f" _(tools: {', '.join(dict.fromkeys(message.tool_names))})_"
            if message.tool_names
            else ""
        )
        text = one_line(message.text, limit) if message.text else ""
        lines.append(f"**{who}:** {text}{tools}".rstrip())
    return "\n".join(lines)


def resumed_text(summary: SessionSummary, preview: Sequence[TranscriptMessage]) -> str:
    head = (
        f"**Resumed session** `{short_id(summary.session_id)}` in `{summary.project}`\n"
        f"“{one_line(summary.first_prompt, 120)}” · {summary.prompt_count} prompts · "
        f"{ago(summary.last_activity)}"
    )
    if summary.live is not None:
        head += f"\n🖥 Open in a terminal right now (pid {summary.live.pid})."
    body = preview_lines(preview)
    return f"{head}\n\n{body}" if body else head


def handoff_text(session_id: str, directory: str) -> str:
    command = f"cd {shlex.quote(directory)} && claude --resume {session_id}"
    return f"Continue at the desk:\n```sh\n{command}\n```"


def help_text(commands: Sequence[CommandSpec], where: str) -> str:
    lines = [
        "I pass your messages to Claude Code and stream its answers back. Sessions are "
        "shared with the terminal: pick one with /sessions, hand it back with /handoff.",
        "",
        where,
        "",
    ]
    lines.extend(f"{c.usage} — {c.description}" for c in commands)
    return "\n".join(lines)
