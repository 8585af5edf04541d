"""The words every layer shares, each defined once: the apps and doors, the permission
modes, the entrypoint the bot's CLIs carry.

It sits at the bottom: ``storage`` may import this module (and no other part of
``session_core``), so it imports nothing of ours, and nothing slow (the one-shot CLI
commands read it too).
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, get_args

AppName: TypeAlias = Literal["telegram", "discord"]
"""A chat app the bot serves."""
APPS: Final[tuple[AppName, ...]] = get_args(AppName)

DoorName: TypeAlias = Literal["terminal", "telegram", "discord", "cli"]
"""Where a session was used from: a terminal's ``claude``, a chat app, or ``baton ask``."""
DOORS: Final[tuple[DoorName, ...]] = get_args(DoorName)

PermissionMode: TypeAlias = Literal["default", "acceptEdits", "plan", "bypassPermissions"]
"""Claude Code's permission modes, in the CLI's spelling."""
PERMISSION_MODES: Final[tuple[PermissionMode, ...]] = get_args(PermissionMode)
BYPASS: Final[PermissionMode] = "bypassPermissions"

ENTRYPOINT: Final = "claude-baton"
"""``CLAUDE_CODE_ENTRYPOINT`` for every CLI the bot starts: transcripts then carry it, the
terminal's ``claude --resume`` picker lists the bot's sessions (it hides ``sdk-*``), the
catalog tells the bot's own live processes from a terminal's, and the child guard finds
its orphans by it."""
