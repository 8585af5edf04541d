"""One turn of a chat, from its queued prompt to the usage row: which session it goes
to (asking first when a terminal holds it), the approver and the streaming reply, the
events on their way, and the bookkeeping once the chat is free."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from chat_adapters.approval_bridge import ChatApprover
from chat_adapters.approval_rules import SessionRules
from chat_adapters.binding import Binding
from chat_adapters.chat_input import Sender
from chat_adapters.chat_lines import ChatLine, Job, Played
from chat_adapters.chat_modes import ChatModes
from chat_adapters.chat_services import ChatServices, chat_text
from chat_adapters.choices import Choice, ChoicePrompt
from chat_adapters.claude_commands import ClaudeCommandBridge
from chat_adapters.commands import commands_for
from chat_adapters.file_delivery import ChatFileSink
from chat_adapters.inbound import InboundLedger
from chat_adapters.inbox import SpooledFile
from chat_adapters.relative_time import ago
from chat_adapters.session_views import continuing_notice, short_id
from chat_adapters.streaming import StreamingReply
from chat_adapters.surface import Surface
from session_core.catalog import SessionSummary
from session_core.events import (
    ImageInput,
    ToolFinished,
    TurnFinished,
    TurnStarted,
    WaitingForSlot,
)
from storage import ChatKey

LONG_OUTPUT_CHARS = 1500
"""Tool output at least this long is attached as a file (at verbosity 2)."""
_CANCEL, _FORK, _CONTINUE = "cancel", "fork", "continue"


class TurnFlow:
    """Plays a chat line's prompts (the :class:`~chat_adapters.chat_lines.TurnPlayer`)."""

    def __init__(
        self,
        services: ChatServices,
        binding: Binding,
        modes: ChatModes,
        claude: ClaudeCommandBridge,
        inbound: InboundLedger,
    ) -> None:
        self._s = services
        self._binding = binding
        self._modes = modes
        self._claude = claude
        self._inbound = inbound
        self._rules = SessionRules()
        self.holders: dict[str, str] = {}
        """Sessions this process's chats hold now, and where from (for "busy" notices)."""

    def generation(self, chat: ChatKey) -> int:
        return self._binding.generation(chat)

    def released(self, session_id: str) -> None:
        self.holders.pop(session_id, None)

    async def play(self, chat: ChatKey, line: ChatLine, job: Job) -> Played | None:
        s, surface, sender = self._s, job.surface, job.sender
        prefs = await s.db.preferences.get(chat)
        directory = s.roots.check(self._binding.directory(prefs))
        session_id: str | None = None
        fork = False
        if not prefs.force_new:
            summary = await self._binding.bound_session(prefs, directory)
            if summary is not None:
                if prefs.follows_latest and summary.session_id != prefs.last_seen_session_id:
                    doors = [d.door for d in await s.db.doors.doors(summary.session_id)]
                    await surface.send_text(continuing_notice(summary, doors, datetime.now(UTC)))
                s.roots.check(summary.project)
                decision = await self._terminal_check(surface, summary)
                if decision == _CANCEL:
                    await surface.send_text("Cancelled: nothing was sent to Claude.")
                    return None
                fork = decision == _FORK
                session_id = summary.session_id
        if session_id and not fork:
            holder = (
                self.holders.get(session_id, "another chat")
                if s.runner.busy(session_id)
                else await asyncio.to_thread(s.runner.holder, session_id)
            )
            if holder:
                await surface.send_text(
                    f"⏳ Session `{short_id(session_id)}` is busy ({holder}); "
                    "your message runs when it is free."
                )
        prompt, images = await _with_attachments(job.text, job.attachments)
        approver = ChatApprover(
            surface=surface,
            directory=str(directory),
            rules=self._rules,
            redactor=s.redactor,
            timeout_s=s.policy.approval_timeout_s,
            asker_id=sender.user_id,
            asker_name=sender.display_name,
        )
        line.approver = approver
        verbosity = prefs.verbosity if prefs.verbosity is not None else s.policy.verbosity
        reply = StreamingReply(
            surface,
            verbosity=verbosity,
            on_stop=lambda: self._stop(line),
            redactor=s.redactor,
            background=s.background,
        )
        finished: TurnFinished | None = None
        events = s.runner.stream_turn(
            prompt,
            directory,
            f"{sender.app}:{sender.user_id}",
            session_id=session_id,
            force_new=prefs.force_new,
            approver=approver,
            model=prefs.model or s.policy.model,
            fork=fork,
            images=images,
            permission_mode=await self._modes.for_turn(surface, chat, prefs),
            file_sink=ChatFileSink(surface, s.redactor),
        )
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, WaitingForSlot):
                    line.waiting = asyncio.current_task()
                elif isinstance(event, TurnStarted):
                    line.waiting = None
                    line.session_id = event.session_id
                    await self._inbound.started(chat, job.inbound_id, event.session_id)
                    self.holders[event.session_id] = f"held from {sender.app.capitalize()}"
                    if event.resume_failure is not None:
                        failure = event.resume_failure
                        await surface.send_text(
                            f"⚠️ Could not resume session `{short_id(failure.session_id)}`: "
                            f"{s.redactor(failure.reason)}\nStarted a new session "
                            f"`{short_id(event.session_id)}` instead."
                        )
                elif isinstance(event, ToolFinished) and verbosity >= 2:
                    self._attach_long_output(surface, event)
                elif isinstance(event, TurnFinished):
                    finished = event
                await reply.handle(event)
        s.spawn(self._claude.refresh_menu(surface, directory, commands_for(sender.app)))
        if finished is None:
            return None
        self.holders.pop(finished.session_id, None)
        return prefs, finished

    async def after(
        self, chat: ChatKey, sender: Sender, played: Played, *, generation: int
    ) -> None:
        """The usage row, the door, and the chat's binding follows the turn's session
        (unless the person re-bound the chat while it ran: theirs wins)."""
        prefs, finished = played
        if not finished.session_id:
            return
        db = self._s.db
        await db.usage.record(
            app=sender.app,
            chat_id=chat_text(chat),
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
        await db.doors.touch(finished.session_id, sender.app)
        if self._binding.generation(chat) != generation:
            return
        changes: dict[str, object] = {"last_seen_session_id": finished.session_id}
        if prefs.force_new:
            changes["force_new"] = False
        if prefs.pinned_session_id and prefs.pinned_session_id != finished.session_id:
            changes["pinned_session_id"] = finished.session_id  # a fork or a fresh fallback
        await db.preferences.update(chat, **changes)

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
            timeout_s=self._s.policy.approval_timeout_s,
        )
        answer = await surface.ask_choice(prompt)
        return answer.choice_id or _CANCEL

    def _attach_long_output(self, surface: Surface, event: ToolFinished) -> None:
        """At verbosity 2, tool output too long for a status line goes as a file."""
        caps = surface.capabilities
        if not caps.supports_files or len(event.output) < LONG_OUTPUT_CHARS:
            return
        data = self._s.redactor(event.output).encode("utf-8", "replace")[: caps.max_file_bytes]
        name = re.sub(r"[^\w\-]+", "_", f"{event.name or 'tool'}-{event.tool_use_id[-8:]}")
        self._s.spawn(surface.deliver_file(f"{name}.txt", data, f"Output of {event.name}"))

    async def _stop(self, line: ChatLine) -> None:
        if line.session_id:
            await self._s.runner.interrupt(line.session_id)


async def _with_attachments(
    text: str, attachments: Sequence[SpooledFile]
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
        notes.append(f"[The user attached a file, saved at {item.path} ({item.media_type}).]")
    prompt = "\n".join([text.strip(), *notes]).strip()
    if not prompt and images:
        prompt = "(image attached)"
    return prompt, images
