"""Every chat command, declared once.

Telegram registers these with ``setMyCommands`` and Discord as slash commands; each
handler is attached to its spec by name (:mod:`chat_adapters.command_calls`), and the
dispatcher refuses to start when one is missing. Names follow the stricter of the
two apps' rules (Telegram: 1–32 of ``a-z 0-9 _``; Discord: lowercase, ≤ 32), checked
when the table is built, so a bad name fails at import, not at registration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

AppScope = Literal["both", "telegram", "discord"]
Completion = Literal["session", "directory", "file", "claude_command"]

_NAME = re.compile(r"[a-z0-9_]{1,32}")


@dataclass(frozen=True, slots=True)
class Option:
    """One argument. ``rest`` options take the rest of the line (spaces allowed)."""

    name: str
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()
    completion: Completion | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name) or not 1 <= len(self.description) <= 100:
            raise ValueError(f"bad option {self.name!r}")


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    description: str
    options: tuple[Option, ...] = ()
    apps: AppScope = "both"
    app_handles: bool = False
    """The app answers it itself and never hands it to the dispatcher (Discord's /ask:
    a typed answer to a pending question, else a prompt with the interaction's id)."""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"bad command name {self.name!r}")
        if not 3 <= len(self.description) <= 100:
            raise ValueError(f"command {self.name!r}: description must be 3-100 characters")

    def available_in(self, app: str) -> bool:
        return self.apps in ("both", app)

    @property
    def usage(self) -> str:
        parts = [f"/{self.name}"]
        for option in self.options:
            parts.append(f"<{option.name}>" if option.required else f"[{option.name}]")
        return " ".join(parts)


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", "What this bot does and where you are", apps="telegram"),
    CommandSpec("help", "Commands, the current directory and session"),
    CommandSpec(
        "ask",
        "Send a prompt to Claude in this chat's session",
        (Option("prompt", "What to ask Claude", required=True),),
        apps="discord",
        app_handles=True,
    ),
    CommandSpec("sessions", "Pick a session of this directory to continue"),
    CommandSpec(
        "resume",
        "Continue a session by id or unique prefix",
        (Option("session", "Session id or prefix", required=True, completion="session"),),
    ),
    CommandSpec("new", "The next message starts a fresh session"),
    CommandSpec(
        "cd",
        "Change this chat's directory (inside the approved roots)",
        (Option("directory", "A directory name or absolute path", completion="directory"),),
    ),
    CommandSpec("status", "Directory, session, model, cost, running or idle"),
    CommandSpec("stop", "Interrupt the running turn"),
    CommandSpec("model", "Show or set the model", (Option("name", "Model name, or 'default'"),)),
    CommandSpec(
        "verbose",
        "Progress detail: 0 text, 1 tool names, 2 tool details",
        (Option("level", "0, 1 or 2", choices=("0", "1", "2")),),
    ),
    CommandSpec(
        "mode",
        "Permission mode for tool calls",
        (
            Option(
                "mode",
                "default, acceptEdits, plan or bypass",
                choices=("default", "acceptEdits", "plan", "bypass"),
            ),
        ),
    ),
    CommandSpec("history", "Recent turns of the session", (Option("n", "How many turns"),)),
    CommandSpec("handoff", "The command that continues this session at the desk"),
    CommandSpec("diff", "git status and diff of this chat's directory"),
    CommandSpec(
        "get",
        "Send a file from this chat's directory",
        (Option("path", "A file path in the directory", required=True, completion="file"),),
    ),
    CommandSpec(
        "cc",
        "Run one of Claude Code's own commands or skills",
        (
            Option("command", "The command, e.g. compact", completion="claude_command"),
            Option("args", "What follows the command"),
        ),
        apps="discord",
    ),
    CommandSpec("context", "How full the session's context window is"),
)

COMMANDS_BY_NAME: dict[str, CommandSpec] = {c.name: c for c in COMMANDS}


def commands_for(app: str) -> tuple[CommandSpec, ...]:
    return tuple(c for c in COMMANDS if c.available_in(app))


def parse_command(text: str, bot_username: str | None = None) -> tuple[str, str] | None:
    """``"/cd my proj"`` → ``("cd", "my proj")``; ``/cmd@OtherBot`` → None (not for us)."""
    if not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    name, _, target = head.partition("@")
    if target and bot_username and target.casefold() != bot_username.casefold():
        return None
    return name.casefold(), rest.strip()
