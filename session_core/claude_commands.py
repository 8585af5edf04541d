"""Claude Code's own slash commands and skills, as a session offers them.

The CLI's initialize answer lists every command a session accepts (built-ins, the
project's ``.claude/commands``, user and plugin commands, skills). A chat forwards
``/name args`` as the prompt text, exactly as the terminal would: the CLI expands it
(reference §18). Some built-ins only make sense at a terminal; they are refused
with the reason instead of being sent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TERMINAL_ONLY: Mapping[str, str] = {
    "login": "signing in happens at the machine running the bot (`claude /login` there)",
    "logout": "signing out happens at the machine running the bot",
    "exit": "a chat session has no process to exit; /new starts a fresh session",
    "quit": "a chat session has no process to quit; /new starts a fresh session",
    "vim": "vim mode is a terminal editor setting",
    "terminal-setup": "it configures a terminal's key bindings",
    "ide": "it connects a terminal session to an IDE",
    "config": "the settings panel is interactive; edit settings.json instead",
    "doctor": "it checks a terminal install; run `baton doctor` or `claude doctor` there",
    "resume": "use the bot's /resume or /sessions",
    "clear": "use the bot's /new to start a fresh session",
    "theme": "themes colour a terminal",
    "status": "use the bot's /status",
    "model": "use the bot's /model",
    "permissions": "the permissions panel is interactive; use the bot's /mode",
    "hooks": "the hooks panel is interactive; edit settings.json instead",
    "agents": "the agents panel is interactive",
    "mcp": "the MCP panel is interactive",
    "plugin": "the plugin manager is interactive",
    "install-github-app": "it runs an interactive install",
    "upgrade": "it opens a browser at the terminal",
    "bug": "it opens an interactive report",
    "feedback": "it opens an interactive report",
    "statusline": "it configures a terminal's status line",
    "output-style": "output styles change a terminal's rendering",
    "export": "it writes to the terminal's clipboard or a file dialog",
    "rewind": "rewinding is interactive; fork a session with /sessions instead",
    "add-dir": "directories are set by the bot's /cd inside BATON_ROOTS",
}
"""Built-ins that need a terminal, with why (checked against CLI 2.1.330's list)."""

CACHE_S = 300.0


@dataclass(frozen=True, slots=True)
class ClaudeCommand:
    name: str
    description: str = ""
    argument_hint: str = ""


def parse_commands(info: Mapping[str, Any] | None) -> tuple[ClaudeCommand, ...]:
    """The ``commands`` of an initialize answer, cleaned: named, unique, in order."""
    raw = (info or {}).get("commands")
    found: dict[str, ClaudeCommand] = {}
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        name = str(item.get("name") or "").strip().lstrip("/")
        if not name or " " in name or name in found:
            continue
        found[name] = ClaudeCommand(
            name,
            " ".join(str(item.get("description") or "").split()),
            " ".join(str(item.get("argumentHint") or "").split()),
        )
    return tuple(found.values())


def refusal(name: str) -> str | None:
    """Why ``name`` is not forwarded from a chat, or None when it may be."""
    reason = TERMINAL_ONLY.get(name)
    return f"/{name} needs a terminal: {reason}." if reason else None


class CommandBook:
    """The newest command list seen per directory (from every turn's CLI, for free)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._by_directory: dict[str, tuple[float, tuple[ClaudeCommand, ...]]] = {}

    def remember(self, directory: str, info: Mapping[str, Any] | None) -> None:
        commands = parse_commands(info)
        if commands:
            self._by_directory[directory] = (self._clock(), commands)

    def fresh(self, directory: str) -> tuple[ClaudeCommand, ...] | None:
        """The list for ``directory`` when seen within :data:`CACHE_S`, else None."""
        seen = self._by_directory.get(directory)
        if seen is None or self._clock() - seen[0] > CACHE_S:
            return None
        return seen[1]

    def known(self, directory: str) -> tuple[ClaudeCommand, ...]:
        seen = self._by_directory.get(directory)
        return seen[1] if seen else ()


@dataclass(frozen=True, slots=True)
class ContextUsage:
    """What ``/context`` shows: tokens per category against the model's window."""

    model: str
    total_tokens: int
    max_tokens: int
    percentage: float
    categories: tuple[tuple[str, int], ...]

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ContextUsage:
        categories = []
        for item in raw.get("categories") or []:
            if isinstance(item, Mapping) and item.get("name"):
                categories.append((str(item["name"]), _int(item.get("tokens"))))
        return cls(
            model=str(raw.get("model") or ""),
            total_tokens=_int(raw.get("totalTokens")),
            max_tokens=_int(raw.get("maxTokens")),
            percentage=float(raw.get("percentage") or 0.0),
            categories=tuple(categories),
        )


@dataclass(frozen=True, slots=True)
class SessionProbe:
    """What a short-lived CLI told about a directory (and a session, when resumed)."""

    commands: tuple[ClaudeCommand, ...]
    context: ContextUsage | None = None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
