"""The shared command layer: every app's messages, commands and picks, handled once.

An adapter turns an update into ``authorize`` + ``on_text`` / ``on_command`` with a
:class:`~chat_adapters.surface.Surface` for the chat it came from. Here a chat's
*binding* (its directory, plus a pinned session or "follow the newest session there")
picks the session, prompts queue per chat in the order they were sent, and each turn
streams back through one :class:`~chat_adapters.streaming.StreamingReply`. Nothing here
knows which app it serves: differences are data on the surface's capabilities.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import structlog

from chat_adapters.approval_bridge import ChatApprover
from chat_adapters.approval_rules import SessionRules
from chat_adapters.audit_trail import AuditRow, AuditTrail
from chat_adapters.chat_queues import queue_full_text, queued_text
from chat_adapters.choices import Choice, ChoicePrompt
from chat_adapters.claude_commands import ClaudeCommandBridge
from chat_adapters.commands import COMMANDS_BY_NAME, Completion, commands_for
from chat_adapters.diff_view import show_diff
from chat_adapters.file_delivery import ChatFileSink
from chat_adapters.file_fetch import complete_files, fetch
from chat_adapters.housekeeping import keep_tidy
from chat_adapters.inbound import InboundLedger
from chat_adapters.inbox import Inbox, SpooledFile
from chat_adapters.press_gate import PressGate
from chat_adapters.redacting_surface import guard
from chat_adapters.redaction import Redactor
from chat_adapters.relative_time import ago
from chat_adapters.session_views import (
    continuing_notice,
    handoff_text,
    help_text,
    one_line,
    picker_line,
    preview_lines,
    resumed_text,
    session_label,
    short_id,
)
from chat_adapters.streaming import StreamingReply
from chat_adapters.surface import Surface
from session_core.approvals import PermissionMode
from session_core.catalog import AmbiguousSession, SessionCatalog, SessionSummary, UnknownSession
from session_core.events import (
    ImageInput,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    TurnStarted,
    WaitingForSlot,
)
from session_core.permission_modes import EffectiveMode, effective_mode
from session_core.roots import ApprovedRoots, OutsideRoots
from session_core.runner import TurnRunner
from storage import ChatKey, ChatPreferences, Database

log = structlog.get_logger(__name__)

AppName = Literal["telegram", "discord"]
PAGE_SIZE = 6
PICKER_TIMEOUT_S = 600.0
LONG_OUTPUT_CHARS = 1500
"""Tool output at least this long is attached as a file (at verbosity 2)."""
_CANCEL, _NEW, _MORE, _FORK, _CONTINUE = "cancel", "new", "more", "fork", "continue"
_MODES = {"default": "default", "acceptedits": "acceptEdits", "plan": "plan"}
OUTSIDE_NOTE = "outside the approved roots (pick another with /sessions or /cd)"


@dataclass(frozen=True, slots=True)
class Sender:
    app: AppName
    user_id: str
    display_name: str = ""
    mention: str = ""
    """How to mention them so their phone notifies (Discord ``<@id>``); may be empty."""


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: Literal["image", "document"]
    file_name: str
    data: bytes
    media_type: str


@runtime_checkable
class ThreadOpener(Protocol):
    """A surface that can start a thread for a session (Discord)."""

    async def open_thread(self, title: str, existing: str | None = None) -> tuple[Surface, ChatKey]:
        """A thread for a session: ``existing`` (a thread id of this channel) when it
        still exists, else a new one named ``title``."""
        ...


@dataclass(frozen=True, slots=True)
class ChatPolicy:
    """What the settings say about chats, handed in explicitly."""

    allowed_users: frozenset[tuple[str, str]]
    verbosity: int = 1
    model: str | None = None
    permission_mode: str = "default"
    allow_bypass: bool = False
    approval_timeout_s: float = 300.0
    audit_days: int = 90
    approvers: frozenset[tuple[str, str]] = frozenset()
    """Who may answer approvals; empty: any allowed user."""
    claude_code: str = ""
    """Which Claude Code runs turns and, when it is not the user's own, why."""
    max_queued: int = 20
    """Prompts a chat may have waiting behind its running turn; more are refused."""
    inbox_days: float = 7.0


@dataclass
class _Job:
    surface: Surface
    sender: Sender
    text: str
    attachments: Sequence[SpooledFile]
    inbound_id: str | None = None
    """The app's id for the message (its row in the inbound ledger)."""


@dataclass
class _ChatLine:
    """One chat's queue of prompts and the turn it runs now."""

    queue: asyncio.Queue[_Job] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    running: bool = False
    session_id: str | None = None
    approver: ChatApprover | None = None
    waiting: asyncio.Task[object] | None = None
    """The turn while it waits for a free Claude process slot (/stop cancels it)."""
    refusing: bool = False
    """The queue was full and the chat was told so; reset once it drains."""
    rebound: int = 0
    """Binding changes (/new, /resume, /cd) so far: a turn's bookkeeping that sees this
    move on while it ran leaves the chat's binding alone."""


BYPASS_OFF_TEXT = "BATON_ALLOW_BYPASS is off"


class ChatDispatcher:
    refusal_text = "Sorry, you are not allowed to use this bot. This attempt was logged."

    def __init__(
        self,
        *,
        runner: TurnRunner,
        catalog: SessionCatalog,
        roots: ApprovedRoots,
        database: Database,
        policy: ChatPolicy,
        redactor: Redactor | None = None,
        inbox_dir: Path,
    ) -> None:
        self.runner = runner
        self.catalog = catalog
        self.roots = roots
        self.db = database
        self.policy = policy
        self.redactor = redactor or Redactor()
        self.inbox_dir = inbox_dir
        self.inbox = Inbox(inbox_dir, keep_days=policy.inbox_days)
        self._lines: dict[ChatKey, _ChatLine] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._holders: dict[str, str] = {}
        self._rules = SessionRules()
        self._told_bypass_off: set[ChatKey] = set()
        self._claude = ClaudeCommandBridge(runner, self.redactor)
        self._closing = False
        self.audit = AuditTrail(database, retention_days=policy.audit_days)
        self.presses = PressGate(
            allowed_users=policy.allowed_users,
            approvers=policy.approvers,
            audit=self.audit,
            redactor=self.redactor,
            refusal_text=self.refusal_text,
        )
        self.inbound = InboundLedger(database.inbound)

    # -- what adapters call ------------------------------------------------------------

    async def authorize(self, sender: Sender, chat: ChatKey, action: str) -> bool:
        """A pure in-memory decision; the audit row is written afterwards, in the
        background, so a slow database never refuses or delays anyone."""
        allowed = (sender.app, sender.user_id) in self.policy.allowed_users
        self.audit.note(
            AuditRow(
                app=sender.app,
                user_id=sender.user_id,
                chat_id=_chat_text(chat),
                action=action,
                allowed=allowed,
                detail=self.redactor(action)[:200],
            )
        )
        if not allowed:
            log.warning("refused", app=sender.app, user_id=sender.user_id, action=action[:40])
        return allowed

    def has_work(self, chat: ChatKey) -> bool:
        """A turn runs or prompts wait in ``chat`` (idle chats keep nothing here)."""
        return chat in self._lines

    def is_allowed(self, sender: Sender) -> bool:
        return (sender.app, sender.user_id) in self.policy.allowed_users

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
        if not text.strip() and not attachments:
            return
        if self._closing:
            await surface.send_text("⏹ The bot is shutting down: send this again once it is back.")
            return
        line = self._lines.get(chat)
        if line is not None and line.queue.qsize() >= self.policy.max_queued:
            if not line.refusing:
                line.refusing = True
                self._spawn(surface.send_text(queue_full_text(self.policy.max_queued)))
            log.info("prompt_refused_queue_full", chat=_chat_text(chat))
            return
        accepted = await self.inbound.accept(
            chat,
            inbound_id,
            user_id=sender.user_id,
            text=text,
            display_name=sender.display_name,
            mention=sender.mention,
            attachments=len(attachments),
        )
        if not accepted.run:
            return
        if accepted.warning:
            await surface.send_text(accepted.warning)
        # On disk before it waits: a queued prompt holds paths, not bytes.
        spooled = [
            await asyncio.to_thread(self.inbox.spool, a.kind, a.file_name, a.data, a.media_type)
            for a in attachments
        ]
        line = self._lines.setdefault(chat, _ChatLine())
        line.refusing = False  # there was room again: a later overflow is told anew
        ahead = line.queue.qsize() + (1 if line.running else 0)
        line.queue.put_nowait(_Job(surface, sender, text, spooled, inbound_id))
        if line.worker is None or line.worker.done():
            line.worker = asyncio.create_task(self._work(chat, line), name=f"chat:{chat}")
        if ahead:
            # Not awaited: the chat's pacing must not hold up whoever handed us this.
            self._spawn(surface.send_text(queued_text(ahead)))

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
        if spec is None or not spec.available_in(sender.app):
            await surface.send_text(
                f"Unknown command /{one_line(name, 40)}. Send /help for the list."
            )
            return
        handler = getattr(self, f"_cmd_{name}")
        try:
            await handler(surface, chat, sender, args.strip())
        except (OutsideRoots, UnknownSession, AmbiguousSession, ValueError) as exc:
            await surface.send_text(f"⚠️ {self.redactor(str(exc))}")

    async def complete(
        self, chat: ChatKey, option: Completion, value: str
    ) -> list[tuple[str, str]]:
        """Autocomplete choices (label, value), at most 25."""
        needle = value.strip().casefold()
        if option == "session":
            prefs = await self.db.preferences.get(chat)
            found = await asyncio.to_thread(
                self.catalog.list, directory=self._directory(prefs), limit=200
            )
            now = datetime.now(UTC)
            return [
                (
                    one_line(
                        self.redactor(f"{short_id(s.session_id)} · {session_label(s, now)}"), 100
                    ),
                    s.session_id,
                )
                for s in found
                if s.has_transcript
                and self.roots.allows(s.project)
                and (
                    not needle
                    or s.session_id.startswith(needle)
                    or needle in s.first_prompt.casefold()
                )
            ][:25]
        if option == "claude_command":
            directory = self._directory(await self.db.preferences.get(chat))
            return await self._claude.complete(directory, value)
        if option == "file":
            directory = self._directory(await self.db.preferences.get(chat))
            return await asyncio.to_thread(complete_files, directory, value)
        dirs = await asyncio.to_thread(self._directories)
        return [
            (one_line(self.redactor(str(d)), 100), str(d))
            for d in dirs
            if needle in str(d).casefold()
        ][:25]

    def start_housekeeping(self) -> None:
        """Expired pending choices and old inbox files go, now and daily (until aclose)."""
        self._spawn(keep_tidy(self.inbox, self.db.pending))

    async def finish_turns(self, grace_s: float = 15.0) -> None:
        """Shutting down: stop running turns, let their replies finalize, say what was
        not sent. Pickers and questions stay open until the apps close."""
        self._closing = True
        for chat, line in list(self._lines.items()):  # a finishing worker drops its line
            dropped: list[_Job] = []
            while not line.queue.empty():
                dropped.append(line.queue.get_nowait())
            for job in dropped:  # the chat is told to send them again
                await self.inbound.finish(chat, job.inbound_id)
            if dropped:
                with contextlib.suppress(Exception):
                    await dropped[0].surface.send_text(
                        f"⏹ The bot is shutting down: {len(dropped)} queued message"
                        f"{'s were' if len(dropped) > 1 else ' was'} not sent. "
                        "Send again once it is back."
                    )
            if line.running and line.session_id:
                await self.runner.interrupt(line.session_id)
        workers = [line.worker for line in self._lines.values() if line.worker]
        if workers:
            await asyncio.wait(workers, timeout=grace_s)

    async def aclose(self) -> None:
        await self.finish_turns(grace_s=5.0)
        tasks = [*self._tasks, *(line.worker for line in self._lines.values() if line.worker)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.audit.aclose()

    # -- turns -------------------------------------------------------------------------

    async def _work(self, chat: ChatKey, line: _ChatLine) -> None:
        while not line.queue.empty() and not self._closing:
            job = line.queue.get_nowait()
            line.running = True
            rebound = line.rebound
            done: tuple[ChatPreferences, TurnFinished] | None = None
            turn = asyncio.create_task(self._turn(chat, line, job))
            try:
                done = await turn
            except asyncio.CancelledError:
                worker = asyncio.current_task()
                if not turn.cancelled() or (worker is not None and worker.cancelling()):
                    raise
                log.info("turn_stopped_while_waiting", chat=_chat_text(chat))
            except Exception as exc:
                log.exception("turn_crashed", chat=_chat_text(chat))
                with contextlib.suppress(Exception):
                    await job.surface.send_text(
                        f"❌ {self.redactor(str(exc)) or type(exc).__name__}"
                    )
            finally:
                line.running = False
                line.waiting = None
                if line.session_id:
                    self._holders.pop(line.session_id, None)
                line.session_id = None
                line.approver = None
            await self.inbound.finish(chat, job.inbound_id)  # any outcome but a cancel
            if done is not None:
                # Bookkeeping runs after the chat is free: a message arriving now is
                # next in line, not "queued behind" a turn that already answered.
                try:
                    await self._after_turn(chat, job.sender, *done, rebound=rebound)
                except Exception:
                    log.exception("after_turn_failed", chat=_chat_text(chat))
        if line.queue.empty() and self._lines.get(chat) is line:
            del self._lines[chat]  # an idle chat keeps nothing here

    async def _turn(
        self, chat: ChatKey, line: _ChatLine, job: _Job
    ) -> tuple[ChatPreferences, TurnFinished] | None:
        surface, sender = job.surface, job.sender
        prefs = await self.db.preferences.get(chat)
        directory = self.roots.check(self._directory(prefs))
        session_id: str | None = None
        fork = False
        if not prefs.force_new:
            summary = await self._bound_session(prefs, directory)
            if summary is not None:
                if prefs.follows_latest and summary.session_id != prefs.last_seen_session_id:
                    doors = [d.door for d in await self.db.doors.doors(summary.session_id)]
                    await surface.send_text(continuing_notice(summary, doors, datetime.now(UTC)))
                self.roots.check(summary.project)
                decision = await self._terminal_check(surface, summary)
                if decision == _CANCEL:
                    await surface.send_text("Cancelled: nothing was sent to Claude.")
                    return None
                fork = decision == _FORK
                session_id = summary.session_id
        if session_id and not fork:
            holder = (
                self._holders.get(session_id, "another chat")
                if self.runner.busy(session_id)
                else await asyncio.to_thread(self.runner.holder, session_id)
            )
            if holder:
                await surface.send_text(
                    f"⏳ Session `{short_id(session_id)}` is busy ({holder}); "
                    "your message runs when it is free."
                )
        prompt, images = await self._with_attachments(job.text, job.attachments)
        approver = ChatApprover(
            surface=surface,
            directory=str(directory),
            rules=self._rules,
            redactor=self.redactor,
            timeout_s=self.policy.approval_timeout_s,
            asker_id=sender.user_id,
            asker_name=sender.display_name,
        )
        line.approver = approver
        verbosity = prefs.verbosity if prefs.verbosity is not None else self.policy.verbosity
        reply = StreamingReply(
            surface,
            verbosity=verbosity,
            on_stop=lambda: self._stop(line),
            redactor=self.redactor,
        )
        finished: TurnFinished | None = None
        events = self.runner.stream_turn(
            prompt,
            directory,
            f"{sender.app}:{sender.user_id}",
            session_id=session_id,
            force_new=prefs.force_new,
            approver=approver,
            model=prefs.model or self.policy.model,
            fork=fork,
            images=images,
            permission_mode=await self._turn_mode(surface, chat, prefs),
            file_sink=ChatFileSink(surface, self.redactor),
        )
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, WaitingForSlot):
                    line.waiting = asyncio.current_task()
                elif isinstance(event, TurnStarted):
                    line.waiting = None
                    line.session_id = event.session_id
                    await self.inbound.started(chat, job.inbound_id, event.session_id)
                    self._holders[event.session_id] = f"held from {sender.app.capitalize()}"
                    if event.resume_failure is not None:
                        failure = event.resume_failure
                        await surface.send_text(
                            f"⚠️ Could not resume session `{short_id(failure.session_id)}`: "
                            f"{self.redactor(failure.reason)}\nStarted a new session "
                            f"`{short_id(event.session_id)}` instead."
                        )
                elif isinstance(event, ToolStarted):
                    approver.plans.note(event.tool_use_id, event.name, event.input)
                elif isinstance(event, ToolFinished) and verbosity >= 2:
                    self._attach_long_output(surface, event)
                elif isinstance(event, TurnFinished):
                    finished = event
                await reply.handle(event)
        self._spawn(self._claude.refresh_menu(surface, directory, commands_for(sender.app)))
        if finished is None:
            return None
        self._holders.pop(finished.session_id, None)
        return prefs, finished

    async def _after_turn(
        self,
        chat: ChatKey,
        sender: Sender,
        prefs: ChatPreferences,
        finished: TurnFinished,
        *,
        rebound: int = 0,
    ) -> None:
        if not finished.session_id:
            return
        await self.db.usage.record(
            app=sender.app,
            chat_id=_chat_text(chat),
            user_id=sender.user_id,
            session_id=finished.session_id,
            outcome=finished.outcome,
            cost_usd=finished.cost_usd,
            input_tokens=finished.usage.input_tokens,
            output_tokens=finished.usage.output_tokens,
            cache_read_tokens=finished.usage.cache_read_input_tokens,
            cache_creation_tokens=finished.usage.cache_creation_input_tokens,
            duration_ms=finished.duration_ms,
        )
        await self.db.doors.touch(finished.session_id, sender.app)
        line = self._lines.get(chat)
        if line is not None and line.rebound != rebound:
            return  # the person re-bound the chat during the turn: theirs wins
        changes: dict[str, object] = {"last_seen_session_id": finished.session_id}
        if prefs.force_new:
            changes["force_new"] = False
        if prefs.pinned_session_id and prefs.pinned_session_id != finished.session_id:
            changes["pinned_session_id"] = finished.session_id  # a fork or a fresh fallback
        await self.db.preferences.update(chat, **changes)

    async def _bound_session(
        self, prefs: ChatPreferences, directory: Path
    ) -> SessionSummary | None:
        if prefs.pinned_session_id:
            summary = await asyncio.to_thread(self.catalog.get, prefs.pinned_session_id)
            if summary is not None:
                self.roots.check(summary.project)
                return summary
            # A pinned session the catalog no longer knows: the runner reports the failure.
            return SessionSummary(
                session_id=prefs.pinned_session_id,
                project=str(directory),
                first_prompt="",
                last_prompt="",
                last_activity=datetime.now(UTC),
                prompt_count=0,
                has_transcript=False,
                live=None,
            )
        newest = await asyncio.to_thread(self.catalog.newest_resumable, directory)
        if newest is not None:
            self.roots.check(newest.project)
        return newest

    async def _terminal_check(self, surface: Surface, summary: SessionSummary) -> str:
        """Ask before a second writer joins a session a terminal holds open."""
        live = summary.live
        if live is None:
            return _CONTINUE
        started = (
            datetime.fromtimestamp(live.started_at_ms / 1000, tz=UTC)
            if live.started_at_ms
            else None
        )
        since = f", started {ago(started)}" if started else ""
        prompt = ChoicePrompt(
            title=f"Session {short_id(summary.session_id)} is open in a terminal",
            body=(
                f"A `claude` process (pid {live.pid}{since}) holds this session. Two writers "
                "on one transcript can lose turns.\n*Fork* continues in a copy; *Continue "
                "anyway* writes to the same session."
            ),
            options=(
                Choice(_FORK, "Fork", "primary"),
                Choice(_CONTINUE, "Continue anyway", "danger"),
                Choice(_CANCEL, "Cancel", "secondary"),
            ),
            timeout_choice=_CANCEL,
            timeout_s=self.policy.approval_timeout_s,
        )
        answer = await surface.ask_choice(prompt)
        return answer.choice_id or _CANCEL

    def _attach_long_output(self, surface: Surface, event: ToolFinished) -> None:
        """At verbosity 2, tool output too long for a status line goes as a file."""
        caps = surface.capabilities
        if not caps.supports_files or len(event.output) < LONG_OUTPUT_CHARS:
            return
        data = self.redactor(event.output).encode("utf-8", "replace")[: caps.max_file_bytes]
        name = re.sub(r"[^\w\-]+", "_", f"{event.name or 'tool'}-{event.tool_use_id[-8:]}")
        self._spawn(surface.deliver_file(f"{name}.txt", data, f"Output of {event.name}"))

    async def _with_attachments(
        self, text: str, attachments: Sequence[SpooledFile]
    ) -> tuple[str, list[ImageInput]]:
        """Images go to the model as image blocks; other files stay in the inbox, by path."""
        images: list[ImageInput] = []
        notes: list[str] = []
        for item in attachments:
            if item.kind == "image":
                try:
                    data = await asyncio.to_thread(item.path.read_bytes)
                    images.append(ImageInput(item.media_type, data))
                    continue
                except ValueError:
                    pass  # an odd image type is still delivered, as a file
            path = item.path
            notes.append(f"[The user attached a file, saved at {path} ({item.media_type}).]")
        prompt = "\n".join([text.strip(), *notes]).strip()
        if not prompt and images:
            prompt = "(image attached)"
        return prompt, images

    def _rebind(self, chat: ChatKey) -> None:
        """A binding change: a turn running in ``chat`` must not write over it."""
        line = self._lines.get(chat)
        if line is not None:
            line.rebound += 1

    async def _stop(self, line: _ChatLine) -> None:
        if line.session_id:
            await self.runner.interrupt(line.session_id)

    # -- commands ----------------------------------------------------------------------

    async def _cmd_start(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        await self._cmd_help(surface, chat, sender, args)

    async def _cmd_help(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        prefs = await self.db.preferences.get(chat)
        await surface.send_text(help_text(commands_for(sender.app), await self._where(prefs)))

    async def _cmd_ask(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        if not args:
            await surface.send_text("Usage: /ask <prompt>")
            return
        await self.on_text(surface, chat, sender, args)

    async def _cmd_sessions(
        self, surface: Surface, chat: ChatKey, sender: Sender, args: str
    ) -> None:
        self._spawn(self._session_picker(surface, chat), surface)

    async def _session_picker(self, surface: Surface, chat: ChatKey) -> None:
        prefs = await self.db.preferences.get(chat)
        directory = self._directory(prefs)
        found = [
            s
            for s in await asyncio.to_thread(self.catalog.list, directory=directory, limit=200)
            if s.has_transcript and self.roots.allows(s.project)
        ]
        page = 0
        while True:
            shown = found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
            now = datetime.now(UTC)
            options = [Choice(str(i), session_label(s, now)) for i, s in enumerate(shown)]
            options.append(Choice(_NEW, "➕ New session", "primary"))
            if (page + 1) * PAGE_SIZE < len(found):
                options.append(Choice(_MORE, "Older ›"))
            options.append(Choice(_CANCEL, "Close"))
            title = f"Sessions in {directory}" + (f" (page {page + 1})" if page else "")
            doors = await self.db.doors.doors_for([s.session_id for s in shown])
            body = "\n".join(
                picker_line(i + 1, s, [d.door for d in doors.get(s.session_id, [])], now)
                for i, s in enumerate(shown)
            )
            answer = await surface.ask_choice(
                ChoicePrompt(
                    title=title,
                    body=body or "No sessions here yet. Send a message to start one.",
                    options=tuple(options),
                    timeout_choice=_CANCEL,
                    timeout_s=PICKER_TIMEOUT_S,
                )
            )
            choice = answer.choice_id
            if choice == _MORE:
                page += 1
                continue
            if choice == _NEW:
                await self._start_new(surface, chat)
            elif choice not in (None, _CANCEL):
                await self._pin(surface, chat, shown[int(choice)])
            return

    async def _cmd_resume(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        if not args:
            await surface.send_text(
                "Usage: /resume <session id or prefix> (or pick one in /sessions)"
            )
            return
        summary = await asyncio.to_thread(self.catalog.resolve, args.split()[0])
        if not summary.has_transcript:
            await surface.send_text(
                f"Session `{short_id(summary.session_id)}` cannot be resumed: "
                "its transcript is gone."
            )
            return
        await self._pin(surface, chat, summary)

    async def _pin(self, surface: Surface, chat: ChatKey, summary: SessionSummary) -> None:
        project = self.roots.check(summary.project)
        preview = await asyncio.to_thread(self.catalog.preview, summary.session_id, 4)
        target, key = await self._session_home(
            surface, chat, summary.first_prompt, summary.session_id
        )
        self._rebind(key)
        await self.db.preferences.update(
            key,
            directory=str(project),
            pinned_session_id=summary.session_id,
            force_new=False,
            last_seen_session_id=summary.session_id,
        )
        await target.send_text(resumed_text(summary, preview))

    async def _cmd_new(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        await self._start_new(surface, chat)

    async def _start_new(self, surface: Surface, chat: ChatKey) -> None:
        prefs = await self.db.preferences.get(chat)
        target, key = await self._session_home(surface, chat, "New session")
        self._rebind(key)
        await self.db.preferences.update(
            key, directory=str(self._directory(prefs)), pinned_session_id=None, force_new=True
        )
        await target.send_text(
            f"🆕 Your next message starts a new session in `{self._directory(prefs)}`."
        )

    async def _session_home(
        self, surface: Surface, chat: ChatKey, title: str, session_id: str | None = None
    ) -> tuple[Surface, ChatKey]:
        """Where a picked session lives: its thread where the app has threads (the one it
        already has in this channel, else a new one named after it)."""
        if not (
            surface.capabilities.has_threads
            and not chat.thread_id
            and isinstance(surface, ThreadOpener)
        ):
            return surface, chat
        existing = (
            await self.db.preferences.thread_pinned_to(chat, session_id) if session_id else None
        )
        return await surface.open_thread(
            one_line(title or "Claude session", 90),
            existing=existing.thread_id if existing else None,
        )

    async def _cmd_cd(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        prefs = await self.db.preferences.get(chat)
        if not args:
            self._spawn(self._directory_picker(surface, chat, prefs), surface)
            return
        target = self.roots.resolve(args, base=self._directory(prefs))
        await self._change_directory(surface, chat, target)

    async def _directory_picker(
        self, surface: Surface, chat: ChatKey, prefs: ChatPreferences
    ) -> None:
        dirs = (await asyncio.to_thread(self._directories))[:20]
        options = [Choice(str(i), one_line(self._pretty_dir(d), 60)) for i, d in enumerate(dirs)]
        options.append(Choice(_CANCEL, "Cancel"))
        answer = await surface.ask_choice(
            ChoicePrompt(
                title=f"Directory (now {self._directory(prefs)})",
                options=tuple(options),
                timeout_choice=_CANCEL,
                timeout_s=PICKER_TIMEOUT_S,
            )
        )
        if answer.choice_id not in (None, _CANCEL):
            await self._change_directory(surface, chat, dirs[int(answer.choice_id)])

    async def _change_directory(self, surface: Surface, chat: ChatKey, target: Path) -> None:
        target = self.roots.check(target)  # typed or picked: the same decision
        self._rebind(chat)
        await self.db.preferences.update(
            chat, directory=str(target), pinned_session_id=None, force_new=False
        )
        newest = await asyncio.to_thread(self.catalog.newest_resumable, target)
        follow = (
            f"Following its newest session: “{one_line(newest.first_prompt, 60)}” "
            f"(`{short_id(newest.session_id)}`, {ago(newest.last_activity)})."
            if newest
            else "No sessions there yet: your next message starts one."
        )
        await surface.send_text(f"📁 Directory: `{target}`\n{follow}")

    def _effective_mode(self, prefs: ChatPreferences) -> EffectiveMode:
        return effective_mode(
            prefs.permission_mode,
            self.policy.permission_mode,
            allow_bypass=self.policy.allow_bypass,
        )

    def _mode_text(self, prefs: ChatPreferences) -> str:
        effective = self._effective_mode(prefs)
        if effective.bypass_refused:
            return f"{effective.mode} ({BYPASS_OFF_TEXT})"
        return effective.mode

    async def _turn_mode(
        self, surface: Surface, chat: ChatKey, prefs: ChatPreferences
    ) -> PermissionMode:
        """This turn's mode from the chat's choice and the settings of this run; a refused
        bypass is said once per chat and run."""
        effective = self._effective_mode(prefs)
        if effective.bypass_refused and chat not in self._told_bypass_off:
            self._told_bypass_off.add(chat)
            await surface.send_text(
                f"⚠️ This chat chose bypass, but {BYPASS_OFF_TEXT}: "
                f"turns run in {effective.mode} mode."
            )
        return effective.mode

    async def _cmd_status(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        prefs = await self.db.preferences.get(chat)
        line = self._lines.get(chat)
        running = "running" if line and line.running else "idle"
        queued = line.queue.qsize() if line else 0
        where = await self._where(prefs)
        session_id = (
            (line.session_id if line else None)
            or prefs.pinned_session_id
            or prefs.last_seen_session_id
        )
        cost = await self.db.usage.session_cost(session_id) if session_id else 0.0
        today = await self.db.usage.cost_today()
        mode = self._mode_text(prefs)
        verbosity = prefs.verbosity if prefs.verbosity is not None else self.policy.verbosity
        lines = [
            where,
            f"State: {running}" + (f", {queued} queued" if queued else ""),
            f"Model: {prefs.model or self.policy.model or 'Claude Code default'}",
            f"Verbosity: {verbosity} · Mode: {mode}",
            f"Cost: ${cost:.4f} this session · ${today:.4f} today",
        ]
        if self.policy.claude_code:
            lines.append(f"Claude Code: {self.policy.claude_code}")
        await surface.send_text("\n".join(lines))

    async def _cmd_stop(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        line = self._lines.get(chat)
        dropped = 0
        while line is not None and not line.queue.empty():
            await self.inbound.finish(chat, line.queue.get_nowait().inbound_id)
            dropped += 1
        if line is not None and line.waiting is not None:
            line.waiting.cancel()  # nothing reached Claude yet: it leaves the line
            plural = "s" if dropped != 1 else ""
            extra = f" and dropped {dropped} queued message{plural}" if dropped else ""
            await surface.send_text(
                f"⏹ Stopped the message waiting for a free slot{extra}: nothing was sent to Claude."
            )
            return
        if line is None or not line.running or not line.session_id:
            plural = "s" if dropped != 1 else ""
            extra = f"; dropped {dropped} queued message{plural}" if dropped else ""
            await surface.send_text(f"Nothing is running{extra}.")
            return
        await self.runner.interrupt(line.session_id)
        extra = (
            f" and dropped {dropped} queued message{'s' if dropped != 1 else ''}" if dropped else ""
        )
        await surface.send_text(f"⏹ Stopping the running turn{extra}.")

    async def _cmd_model(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        if not args:
            prefs = await self.db.preferences.get(chat)
            await surface.send_text(
                f"Model: {prefs.model or self.policy.model or 'Claude Code default'}. "
                "Set one with /model <name>, or /model default."
            )
            return
        model = None if args.casefold() == "default" else args.split()[0]
        await self.db.preferences.update(chat, model=model)
        await surface.send_text(f"Model: {model or 'Claude Code default'}")

    async def _cmd_verbose(
        self, surface: Surface, chat: ChatKey, sender: Sender, args: str
    ) -> None:
        if args not in ("0", "1", "2"):
            prefs = await self.db.preferences.get(chat)
            level = prefs.verbosity if prefs.verbosity is not None else self.policy.verbosity
            await surface.send_text(
                f"Verbosity: {level}. Use /verbose 0 (text only), 1 (tool names) "
                "or 2 (tool details)."
            )
            return
        await self.db.preferences.update(chat, verbosity=int(args))
        await surface.send_text(f"Verbosity: {args}")

    async def _cmd_mode(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        wanted = args.casefold()
        if wanted in ("bypass", "bypasspermissions"):
            if not self.policy.allow_bypass:
                await surface.send_text(f"bypass is disabled here ({BYPASS_OFF_TEXT}).")
                return
            mode = "bypassPermissions"
        elif wanted in _MODES:
            mode = _MODES[wanted]
        else:
            prefs = await self.db.preferences.get(chat)
            await surface.send_text(
                f"Mode: {self._mode_text(prefs)}. Use /mode default | acceptEdits | plan | bypass."
            )
            return
        await self.db.preferences.update(chat, permission_mode=mode)
        await surface.send_text(f"Mode: {mode}")

    async def _cmd_history(
        self, surface: Surface, chat: ChatKey, sender: Sender, args: str
    ) -> None:
        count = int(args) if args.isdigit() and int(args) > 0 else 3
        summary = await self._current(chat)
        if summary is None:
            await surface.send_text("No session yet: send a message to start one.")
            return
        messages = await asyncio.to_thread(
            self.catalog.preview, summary.session_id, min(count, 20) * 2
        )
        body = preview_lines(messages, limit=1000) or "(nothing to show yet)"
        await surface.send_text(f"**Session** `{short_id(summary.session_id)}`\n\n{body}")

    async def _cmd_handoff(
        self, surface: Surface, chat: ChatKey, sender: Sender, args: str
    ) -> None:
        summary = await self._current(chat)
        if summary is None:
            await surface.send_text("No session yet: send a message to start one.")
            return
        await surface.send_text(handoff_text(summary.session_id, summary.project))

    async def _cmd_diff(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        directory = self._directory(await self.db.preferences.get(chat))
        await show_diff(surface, self.roots.check(directory), self.redactor)

    async def _cmd_get(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        directory = self._directory(await self.db.preferences.get(chat))
        await fetch(surface, self.roots.check(directory), args, self.redactor)

    async def _claude_command(
        self, surface: Surface, chat: ChatKey, sender: Sender, name: str, args: str
    ) -> bool:
        """An unknown /name that is one of the session's Claude Code commands is forwarded."""
        directory = self._directory(await self.db.preferences.get(chat))
        prompt = await self._claude.prompt_for(surface, directory, name, args)
        if prompt:
            await self.on_text(surface, chat, sender, prompt)
        return prompt is not None

    async def _cmd_cc(self, surface: Surface, chat: ChatKey, sender: Sender, args: str) -> None:
        prompt = await self._claude.cc(
            surface, self._directory(await self.db.preferences.get(chat)), args
        )
        if prompt:
            await self.on_text(surface, chat, sender, prompt)

    async def _cmd_context(
        self, surface: Surface, chat: ChatKey, sender: Sender, args: str
    ) -> None:
        summary = await self._current(chat)
        directory = self._directory(await self.db.preferences.get(chat))
        await self._claude.context(surface, directory, summary.session_id if summary else None)

    # -- small pieces ------------------------------------------------------------------

    async def _current(self, chat: ChatKey) -> SessionSummary | None:
        prefs = await self.db.preferences.get(chat)
        if prefs.force_new:
            return None
        return await self._bound_session(prefs, self._directory(prefs))

    async def _where(self, prefs: ChatPreferences) -> str:
        directory = self._directory(prefs)
        session = ""
        if prefs.force_new:
            session = "a new one (next message)"
        else:
            try:
                summary = await self._bound_session(prefs, directory)
            except OutsideRoots:
                summary, session = None, OUTSIDE_NOTE
            if session:
                pass
            elif summary is None:
                session = "none yet (your next message starts one)"
            else:
                how = "pinned" if prefs.pinned_session_id else "following the newest"
                title = one_line(summary.first_prompt, 50) or "…"
                session = f"`{short_id(summary.session_id)}` “{title}” ({how})"
        stale = prefs.directory and not self.roots.allows(prefs.directory)
        note = " (the saved one is outside the approved roots now)" if stale else ""
        return f"Directory: `{directory}`{note}\nSession: {session}"

    def _directory(self, prefs: ChatPreferences) -> Path:
        """The chat's directory, checked: one saved before the roots were narrowed (or
        a symlink since pointed elsewhere) is never used; the default root is."""
        if prefs.directory and self.roots.allows(prefs.directory):
            return self.roots.check(prefs.directory)
        return self.roots.default

    def _directories(self) -> list[Path]:
        found: list[Path] = []
        for root in self.roots.roots:
            found.append(root)
            with contextlib.suppress(OSError):
                found.extend(
                    sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
                )
        return [d for d in found if self.roots.allows(d)]

    def _pretty_dir(self, path: Path) -> str:
        for root in self.roots.roots:
            if path != root and path.is_relative_to(root):
                return f"{root.name}/{path.relative_to(root)}"
        return str(path)

    def _spawn(self, work: Awaitable[object], surface: Surface | None = None) -> None:
        """Run in the background; a refusal (bad path, unknown session) is told to the chat."""

        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except (OutsideRoots, UnknownSession, AmbiguousSession, ValueError) as exc:
                if surface is not None:
                    with contextlib.suppress(Exception):
                        await surface.send_text(f"⚠️ {self.redactor(str(exc))}")
            except Exception:
                log.exception("background_failed")

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _chat_text(chat: ChatKey) -> str:
    return f"{chat.chat_id}:{chat.thread_id}" if chat.thread_id else chat.chat_id
