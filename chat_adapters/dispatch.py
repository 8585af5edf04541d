"""The shared command layer: every app's messages, commands and picks, handled once.

An adapter turns an update into ``authorize`` + ``on_text`` / ``on_command`` with a
:class:`~chat_adapters.surface.Surface` for the chat it came from. This router only
hands each on to the module whose job it is: :mod:`~chat_adapters.access` (who may),
:mod:`~chat_adapters.chat_lines` (each chat's queue and worker),
:mod:`~chat_adapters.turn_flow` (one turn), :mod:`~chat_adapters.binding` (which
session and directory), and the command handlers (``session_commands``,
``settings_commands``, ``tool_commands``), found in one table built from the command
specs. Nothing here knows which app it serves: differences are data on the surface's
capabilities. Turns come from a :class:`~session_core.turn_source.TurnSource`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog

from chat_adapters import session_commands, settings_commands, tool_commands
from chat_adapters.access import REFUSAL_TEXT, Access
from chat_adapters.background import BackgroundTasks
from chat_adapters.binding import Binding
from chat_adapters.chat_input import Attachment, Sender
from chat_adapters.chat_lines import ChatLines
from chat_adapters.chat_modes import ChatModes
from chat_adapters.chat_services import ChatPolicy, ChatServices
from chat_adapters.claude_commands import ClaudeCommandBridge
from chat_adapters.command_calls import CommandCall, CommandLayer, handler_table
from chat_adapters.commands import COMMANDS_BY_NAME, Completion
from chat_adapters.file_fetch import complete_files
from chat_adapters.housekeeping import keep_tidy
from chat_adapters.inbound import InboundLedger
from chat_adapters.inbox import Inbox
from chat_adapters.redacting_surface import guard
from chat_adapters.redaction import Redactor
from chat_adapters.session_views import one_line, session_label, short_id
from chat_adapters.surface import Surface
from chat_adapters.turn_flow import TurnFlow
from session_core.catalog import AmbiguousSession, SessionCatalog, SessionSummary, UnknownSession
from session_core.roots import ApprovedRoots, OutsideRoots
from session_core.turn_source import TurnSource
from storage import ChatKey, Database

log = structlog.get_logger(__name__)

HANDLERS = handler_table((session_commands.group, settings_commands.group, tool_commands.group))
"""Every command's handler; built at import, so a spec without one fails at once."""
_REFUSALS = (OutsideRoots, UnknownSession, AmbiguousSession, ValueError)
"""What a command or a picker may raise to refuse: told to the chat, not logged."""


class ChatDispatcher:
    refusal_text = REFUSAL_TEXT

    def __init__(
        self,
        *,
        runner: TurnSource,
        catalog: SessionCatalog,
        roots: ApprovedRoots,
        database: Database,
        policy: ChatPolicy,
        redactor: Redactor | None = None,
        inbox_dir: Path,
        background: BackgroundTasks | None = None,
    ) -> None:
        self.runner = runner
        self.catalog = catalog
        self.roots = roots
        self.db = database
        self.redactor = redactor or Redactor()
        self.inbox_dir = inbox_dir
        self.inbox = Inbox(inbox_dir, keep_days=policy.inbox_days)
        self.background = background if background is not None else BackgroundTasks()
        self._owns_background = background is None
        self.services = ChatServices(
            runner, catalog, roots, database, policy, self.redactor, self._spawn, self.background
        )
        self.access = Access(self.services)
        self.audit = self.access.audit
        self.presses = self.access.presses
        self.inbound = InboundLedger(database.inbound)
        self.binding = Binding(self.services)
        self._claude = ClaudeCommandBridge(runner, self.redactor)
        modes = ChatModes(self.services)
        self.flow = TurnFlow(self.services, self.binding, modes, self._claude, self.inbound)
        self.lines = ChatLines(self.services, self.inbound, self.inbox, self.flow)
        self._layer = CommandLayer(self.services, self.binding, modes, self.lines, self._claude)

    @property
    def policy(self) -> ChatPolicy:
        return self.services.policy

    @policy.setter
    def policy(self, policy: ChatPolicy) -> None:
        self.services.policy = policy

    # -- what adapters call ------------------------------------------------------------

    async def authorize(self, sender: Sender, chat: ChatKey, action: str) -> bool:
        """A pure in-memory decision; the audit row is written in the background."""
        return self.access.authorize(sender, chat, action)

    def is_allowed(self, sender: Sender) -> bool:
        return self.access.is_allowed(sender)

    def has_work(self, chat: ChatKey) -> bool:
        """A turn runs or prompts wait in ``chat`` (idle chats keep nothing here)."""
        return chat in self.lines

    def settled(self) -> bool:
        """No turn runs, no prompt waits, no background work is left."""
        return not len(self.background) and self.lines.settled()

    async def current(self, chat: ChatKey) -> SessionSummary | None:
        """The session the chat's next message goes to (None: a new one)."""
        return await self.binding.current(chat)

    async def on_text(
        self,
        surface: Surface,
        chat: ChatKey,
        sender: Sender,
        text: str,
        attachments: Sequence[Attachment] = (),
        inbound_id: str | None = None,
    ) -> None:
        """Queue a prompt for the chat's session; acknowledge when it has to wait.

        ``inbound_id`` is the app's id for the message: the prompt is recorded under it
        before anything is acknowledged, and a redelivered one is not run again."""
        if not self.is_allowed(sender):
            return
        surface = guard(surface, self.redactor)
        await self.lines.submit(surface, chat, sender, text, attachments, inbound_id)

    async def on_command(
        self, surface: Surface, chat: ChatKey, sender: Sender, name: str, args: str
    ) -> None:
        """Handle any command; long interactions continue in the background."""
        if not self.is_allowed(sender):
            return
        surface = guard(surface, self.redactor)
        spec = COMMANDS_BY_NAME.get(name)
        if spec is None and await self._claude_command(surface, chat, sender, name, args):
            return
        handler = HANDLERS.get(name)
        if spec is None or handler is None or not spec.available_in(sender.app):
            await surface.send_text(
                f"Unknown command /{one_line(name, 40)}. Send /help for the list."
            )
            return
        try:
            await handler(CommandCall(self._layer, surface, chat, sender, args.strip()))
        except _REFUSALS as exc:
            await surface.send_text(f"⚠️ {self.redactor(str(exc))}")

    async def complete(
        self, chat: ChatKey, option: Completion, value: str
    ) -> list[tuple[str, str]]:
        """Autocomplete choices (label, value), at most 25."""
        needle = value.strip().casefold()
        if option == "directory":
            dirs = await asyncio.to_thread(self.binding.directories)
            return [
                (one_line(self.redactor(str(d)), 100), str(d))
                for d in dirs
                if needle in str(d).casefold()
            ][:25]
        directory = await self.binding.chat_directory(chat)
        if option == "claude_command":
            return await self._claude.complete(directory, value)
        if option == "file":
            return await asyncio.to_thread(complete_files, directory, value)
        found = await asyncio.to_thread(self.catalog.list, directory=directory, limit=200)
        now = datetime.now(UTC)
        return [
            (
                one_line(self.redactor(f"{short_id(s.session_id)} · {session_label(s, now)}"), 100),
                s.session_id,
            )
            for s in found
            if s.has_transcript
            and self.roots.allows(s.project)
            and (
                not needle or s.session_id.startswith(needle) or needle in s.first_prompt.casefold()
            )
        ][:25]

    def start_housekeeping(self) -> None:
        """Expired pending choices and old inbox files go, now and daily (until aclose)."""
        self.background.spawn(
            keep_tidy(self.inbox, self.db.pending), name="housekeeping", until_close=True
        )

    async def finish_turns(self, grace_s: float = 15.0) -> None:
        """Shutting down: stop running turns, let their replies finalize, say what was
        not sent. Pickers and questions stay open until the apps close."""
        await self.lines.finish(grace_s)

    async def aclose(self) -> None:
        await self.finish_turns(grace_s=5.0)
        workers = self.lines.workers()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if self._owns_background:
            await self.background.drain(0.0)
        await self.audit.aclose()

    # -- small pieces ------------------------------------------------------------------

    async def _claude_command(
        self, surface: Surface, chat: ChatKey, sender: Sender, name: str, args: str
    ) -> bool:
        """An unknown /name that is one of the session's Claude Code commands is forwarded."""
        directory = await self.binding.chat_directory(chat)
        prompt = await self._claude.prompt_for(surface, directory, name, args)
        if prompt:
            await self.lines.submit(surface, chat, sender, prompt)
        return prompt is not None

    def _spawn(self, work: Awaitable[object], surface: Surface | None = None) -> None:
        """Run in the background; a refusal (bad path, unknown session) is told to the chat."""

        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except _REFUSALS as exc:
                if surface is not None:
                    with contextlib.suppress(Exception):
                        await surface.send_text(f"⚠️ {self.redactor(str(exc))}")
            except Exception:
                log.exception("background_failed")

        # Pickers and questions end when someone answers: the bot's close cancels them.
        self.background.spawn(guarded(), name="chat-work", until_close=True)


def _matches(summary: SessionSummary, needle: str) -> bool:
    return (
        not needle
        or summary.session_id.startswith(needle)
        or needle in summary.first_prompt.casefold()
    )
