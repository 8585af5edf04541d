"""Claude Code's own commands from a chat: ``/compact``, ``/review``, a project's ``/deploy``.

The list comes from the session's CLI (:mod:`session_core.claude_commands`). A command
is forwarded as the prompt text ``/name args`` (the CLI expands it); terminal-only
built-ins are refused with the reason. Telegram shows the list in the chat's command
menu (names mapped to its ``[a-z0-9_]{1,32}`` rule, at most 100 entries); Discord offers
one ``/cc`` command with autocomplete. ``/context`` is answered as a short table.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import structlog

from chat_adapters.commands import CommandSpec
from chat_adapters.redaction import Redactor
from chat_adapters.surface import Surface
from session_core.claude_commands import ClaudeCommand, ContextUsage, refusal
from session_core.sdk_values import SdkError
from session_core.turn_source import TurnSource

log = structlog.get_logger(__name__)

TELEGRAM_MAX_COMMANDS = 100
COMPLETE_WITHIN_S = 2.0
TELEGRAM_MAX_DESCRIPTION = 256
_TELEGRAM_NAME = re.compile(r"[a-z0-9_]{1,32}")


@runtime_checkable
class CommandMenu(Protocol):
    """A surface whose app shows a per-chat command menu (Telegram)."""

    async def set_chat_commands(self, commands: Sequence[tuple[str, str]]) -> None: ...


def telegram_name(name: str) -> str | None:
    """``security-review`` → ``security_review``; None when nothing valid is left."""
    mapped = re.sub(r"[^a-z0-9_]", "_", name.casefold())[:32]
    return mapped if _TELEGRAM_NAME.fullmatch(mapped) else None


def find(typed: str, commands: Sequence[ClaudeCommand]) -> ClaudeCommand | None:
    """The command a person typed: its own name, or its Telegram-safe spelling."""
    wanted = typed.casefold().lstrip("/")
    for command in commands:
        if command.name.casefold() == wanted:
            return command
    return next((c for c in commands if telegram_name(c.name) == wanted), None)


def menu_entries(
    own: Sequence[CommandSpec], claude: Sequence[ClaudeCommand]
) -> list[tuple[str, str]]:
    """The bot's commands, then Claude Code's (skipping clashes and refused ones),
    within Telegram's limits."""
    entries = [(c.name, c.description) for c in own]
    taken = {name for name, _ in entries}
    for command in claude:
        name = telegram_name(command.name)
        if name is None or name in taken or refusal(command.name):
            continue
        taken.add(name)
        description = command.description or f"Claude Code /{command.name}"
        entries.append((name, _cut(description, TELEGRAM_MAX_DESCRIPTION)))
    return entries[:TELEGRAM_MAX_COMMANDS]


def context_table(usage: ContextUsage) -> str:
    """``/context`` as a short fixed-width table."""
    width = max((len(name) for name, _ in usage.categories), default=8)
    rows = [
        f"{name.ljust(width)}  {tokens:>8,}"
        for name, tokens in usage.categories
        if tokens or name.casefold().startswith("free")
    ]
    total = f"{'Total'.ljust(width)}  {usage.total_tokens:>8,} / {usage.max_tokens:,}"
    head = f"**Context** {usage.percentage:.0f}% used" + (
        f" · {usage.model}" if usage.model else ""
    )
    return head + "\n```\n" + "\n".join([*rows, total]) + "\n```"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class ClaudeCommandBridge:
    """What the dispatcher delegates Claude Code's commands to."""

    def __init__(self, runner: TurnSource, redactor: Redactor) -> None:
        self.runner = runner
        self.redactor = redactor
        self._menus: dict[str, tuple[str, ...]] = {}

    async def commands(self, directory: Path) -> tuple[ClaudeCommand, ...]:
        """The directory's list: the last turn's, else asked of a short-lived CLI."""
        known = self.runner.commands.fresh(str(directory))
        if known is not None:
            return known
        try:
            return (await self.runner.probe(directory)).commands
        except SdkError as exc:
            log.warning("claude_commands_unavailable", reason=exc.reason)
            return self.runner.commands.known(str(directory))

    async def prompt_for(
        self, surface: Surface, directory: Path, name: str, args: str
    ) -> str | None:
        """The prompt text to send for ``/name args``; ``""`` when refused (and said
        why); None when the session has no such command (the caller says so)."""
        typed = name.casefold().lstrip("/")
        why = refusal(typed) or refusal(typed.replace("_", "-"))
        command = None if why else find(name, await self.commands(directory))
        if command is not None:
            why = refusal(command.name)
        if why:
            await surface.send_text(f"⛔ {why}")
            return ""
        return f"/{command.name} {args}".strip() if command else None

    async def cc(self, surface: Surface, directory: Path, args: str) -> str | None:
        """Discord's ``/cc <name> <args>``: the prompt to send, or None when answered."""
        name, _, rest = args.strip().partition(" ")
        if not name:
            listed = [c.name for c in await self.commands(directory) if not refusal(c.name)]
            await surface.send_text(
                "Claude Code commands here: " + (", ".join(f"/{n}" for n in listed) or "none")
            )
            return None
        prompt = await self.prompt_for(surface, directory, name, rest)
        if prompt is None:
            await surface.send_text(f"This session has no Claude Code command /{name[:40]}.")
        return prompt or None

    async def complete(self, directory: Path, value: str) -> list[tuple[str, str]]:
        """Autocomplete must answer within Discord's 3 s: a slow first probe finishes in
        the background and fills the list for the next keystroke."""
        needle = value.strip().casefold().lstrip("/")
        probe = asyncio.ensure_future(self.commands(directory))
        try:
            commands = await asyncio.wait_for(asyncio.shield(probe), COMPLETE_WITHIN_S)
        except TimeoutError:
            commands = self.runner.commands.known(str(directory))
        found = [c for c in commands if not refusal(c.name) and needle in c.name.casefold()]
        found.sort(key=lambda c: (not c.name.casefold().startswith(needle), c.name))
        return [(_cut(f"/{c.name} · {c.description}", 100), c.name) for c in found[:25]]

    async def refresh_menu(
        self, surface: Surface, directory: Path, own: Sequence[CommandSpec]
    ) -> None:
        """Put the directory's commands in the chat's menu when they changed."""
        if not isinstance(surface, CommandMenu):
            return
        entries = menu_entries(own, self.runner.commands.known(str(directory)))
        names = tuple(name for name, _ in entries)
        if self._menus.get(surface.surface_id) == names:
            return
        await surface.set_chat_commands(entries)
        self._menus[surface.surface_id] = names

    async def context(self, surface: Surface, directory: Path, session_id: str | None) -> None:
        try:
            probe = await self.runner.probe(directory, session_id)
        except SdkError as exc:
            await surface.send_text(f"⚠️ Could not read the context: {self.redactor(exc.reason)}")
            return
        if probe.context is None:
            await surface.send_text("No context to show yet.")
            return
        await surface.send_text(context_table(probe.context))
