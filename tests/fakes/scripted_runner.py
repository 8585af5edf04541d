"""ScriptedRunner: a TurnSource that plays scripted turns instead of starting Claude Code.

The command layer's tests drive the dispatcher with it and run in milliseconds. It keeps
the contract of :mod:`session_core.turn_source` (the contract test runs it beside the
real runner): one TurnStarted, one TurnFinished last, busy while running, interrupt
ends a running turn with ``interrupted``. With a ``home`` it writes each turn to the
session's transcript and to history.jsonl, as the CLI does, so the catalog, pickers and
/handoff see the sessions it made.

Script a turn with :meth:`ScriptedRunner.script`; a turn nobody scripted answers
``SCRIPTED-REPLY to: <prompt>``. Steps are events (yielded as they are), :class:`Pause`
(sleep, interruptible), :class:`Hold` (wait for :meth:`release` or an interrupt),
:class:`Ask` (put a tool call to the turn's approver and record the decision) and
:class:`SendFile` (Claude's ``send_to_chat``: confine the path, hand it to the turn's
file sink, record what the model would be told). :meth:`ScriptedRunner.on_prompt`
scripts the turn of a prompt by its text, for turns whose order is a race.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from session_core.approvals import ApprovalDecision, ApprovalRequest, Approver
from session_core.chat_tools import FileOffer, FileSink, confine
from session_core.claude_commands import CommandBook, SessionProbe, parse_commands
from session_core.claude_home import ClaudeHome, project_key
from session_core.events import (
    ImageInput,
    Outcome,
    ResumeFailure,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnEvent,
    TurnFinished,
    TurnStarted,
    Usage,
    WaitingForSlot,
)
from session_core.history_writer import append_history_entry
from session_core.vocabulary import PermissionMode


@dataclass(frozen=True, slots=True)
class Pause:
    """Sleep this long; an interrupt ends the turn here."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Hold:
    """Wait until the test calls ``release()`` or the turn is interrupted."""


@dataclass(frozen=True, slots=True)
class Ask:
    """Ask the turn's approver about a tool call; the decision is recorded."""

    tool_name: str
    tool_input: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendFile:
    """Claude calls ``send_to_chat`` with this path (and caption); the outcome is
    recorded in ``ScriptedRunner.sent`` as the SDK boundary would tell the model."""

    path: str
    caption: str = ""


@dataclass(frozen=True, slots=True)
class SentFile:
    """What a :class:`SendFile` step told the model: the sink's answer or the refusal."""

    path: str
    text: str
    is_error: bool


Step: TypeAlias = TextDelta | ToolStarted | ToolFinished | Pause | Hold | Ask | SendFile


@dataclass(frozen=True, slots=True)
class ScriptedTurn:
    steps: tuple[Step, ...] = ()
    outcome: Outcome = "success"
    waiting: int | None = None
    """Yield WaitingForSlot(ahead=waiting) before the turn starts (and Hold there)."""
    resume_failure: str | None = None
    """The requested session "cannot be resumed" for this reason: a fresh one runs."""
    cost_usd: float = 0.001


@dataclass(frozen=True, slots=True)
class TurnCall:
    """What the command layer asked for, as the runner received it."""

    prompt: str
    directory: str
    user_id: str
    session_id: str | None
    force_new: bool
    fork: bool
    model: str | None
    permission_mode: PermissionMode | None
    images: tuple[ImageInput, ...]
    with_approver: bool
    with_file_sink: bool


@dataclass(frozen=True, slots=True)
class WarmCall:
    """A ``warm_new_session`` hint, as the runner received it."""

    directory: str
    model: str | None
    permission_mode: PermissionMode | None
    with_approvals: bool
    chat_tools: bool

    @classmethod
    def of(cls, call: TurnCall) -> WarmCall:
        """The hint that fits ``call`` exactly: what a warm start must have asked for."""
        return cls(
            call.directory,
            call.model,
            call.permission_mode,
            call.with_approver,
            call.with_file_sink,
        )


class ScriptedRunner:
    """A :class:`~session_core.turn_source.TurnSource` that plays scripts; see the module doc."""

    def __init__(self, home: ClaudeHome | None = None) -> None:
        self.home = home
        self.commands = CommandBook()
        self.calls: list[TurnCall] = []
        self.interrupts: list[str] = []
        self.started: list[str] = []
        """The session id of each turn, in the order they started."""
        self.decisions: list[ApprovalDecision] = []
        self.holders: dict[str, str] = {}
        """Sessions another process claims (``holder`` answers from here)."""
        self.probe_info: Mapping[str, Any] | None = None
        """What ``probe`` reports as the CLI's server info (its command list)."""
        self.sent: list[SentFile] = []
        """What each :class:`SendFile` step told the model, in order."""
        self.warmed: list[WarmCall] = []
        """Each ``warm_new_session`` hint (nothing is started: turns here cost nothing)."""
        self._scripts: list[ScriptedTurn] = []
        self._by_prompt: list[tuple[str, ScriptedTurn]] = []
        self._running: dict[str, asyncio.Event] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._release = asyncio.Event()

    # -- what tests do -------------------------------------------------------------------

    def script(self, *turns: ScriptedTurn) -> None:
        """The next turns play these, in order (then the default reply again)."""
        self._scripts.extend(turns)

    def on_prompt(self, marker: str, turn: ScriptedTurn) -> None:
        """The next prompt containing ``marker`` plays ``turn`` (once), before the
        turns queued by :meth:`script`."""
        self._by_prompt.append((marker, turn))

    def release(self) -> None:
        """Let every turn waiting at a Hold go on (and any later Hold pass at once)."""
        self._release.set()

    # -- TurnSource ----------------------------------------------------------------------

    def busy(self, session_id: str) -> bool:
        return session_id in self._running

    def holder(self, session_id: str) -> str | None:
        return self.holders.get(session_id)

    async def warm_new_session(
        self,
        working_directory: str | os.PathLike[str],
        *,
        model: str | None = None,
        permission_mode: PermissionMode | None = None,
        with_approvals: bool = True,
        chat_tools: bool = False,
    ) -> bool:
        directory = os.fspath(working_directory)
        self.warmed.append(WarmCall(directory, model, permission_mode, with_approvals, chat_tools))
        return False

    async def interrupt(self, session_id: str) -> bool:
        stop = self._running.get(session_id)
        if stop is None:
            return False
        self.interrupts.append(session_id)
        stop.set()
        return True

    async def aclose(self) -> None:
        for stop in self._running.values():
            stop.set()

    async def probe(
        self, working_directory: str | os.PathLike[str], session_id: str | None = None
    ) -> SessionProbe:
        self.commands.remember(os.fspath(working_directory), self.probe_info)
        return SessionProbe(parse_commands(self.probe_info))

    async def stream_turn(
        self,
        prompt: str,
        working_directory: str | os.PathLike[str],
        user_id: str | int,
        session_id: str | None = None,
        force_new: bool = False,
        *,
        approver: Approver | None = None,
        model: str | None = None,
        fork: bool = False,
        permission_mode: PermissionMode | None = None,
        images: Sequence[ImageInput] = (),
        file_sink: FileSink | None = None,
    ) -> AsyncGenerator[TurnEvent, None]:
        cwd = os.fspath(working_directory)
        self.calls.append(
            TurnCall(
                prompt,
                cwd,
                str(user_id),
                session_id,
                force_new,
                fork,
                model,
                permission_mode,
                tuple(images),
                approver is not None,
                file_sink is not None,
            )
        )
        turn = self._next_turn(prompt)
        failure = (
            ResumeFailure(session_id, turn.resume_failure)
            if session_id and turn.resume_failure
            else None
        )
        resumed = bool(session_id) and not force_new and not fork and failure is None
        sid = session_id if resumed and session_id else str(uuid.uuid4())
        lock = self._locks.setdefault(sid, asyncio.Lock())
        stop = asyncio.Event()
        if turn.waiting is not None:
            yield WaitingForSlot(ahead=turn.waiting, limit=1)
            await self._wait(stop, None)
        async with lock:
            self._running[sid] = stop
            self.started.append(sid)
            outcome = turn.outcome
            said: list[str] = []
            try:
                yield TurnStarted(sid, cwd, resumed=resumed, resume_failure=failure)
                steps = turn.steps or (TextDelta(f"SCRIPTED-REPLY to: {prompt}"),)
                for step in steps:
                    if stop.is_set():
                        break
                    if isinstance(step, Pause | Hold):
                        await self._wait(stop, step.seconds if isinstance(step, Pause) else None)
                    elif isinstance(step, Ask):
                        await self._ask(approver, sid, step, stop)
                    elif isinstance(step, SendFile):
                        await self._send(file_sink, cwd, step)
                    else:
                        if isinstance(step, TextDelta):
                            said.append(step.text)
                        yield step
                if stop.is_set():
                    outcome = "interrupted"
                self._write(cwd, sid, prompt, "".join(said), copy_of=session_id if fork else None)
                del self._running[sid]
                yield TurnFinished(
                    outcome=outcome,
                    session_id=sid,
                    result_text="".join(said),
                    cost_usd=turn.cost_usd,
                    usage=Usage(input_tokens=10, output_tokens=5),
                    duration_ms=1,
                    resume_failure=failure,
                )
            finally:
                if self._running.pop(sid, None) is not None:
                    self.interrupts.append(sid)  # closed early: the turn was stopped

    # -- internals -----------------------------------------------------------------------

    def _next_turn(self, prompt: str) -> ScriptedTurn:
        for at, (marker, turn) in enumerate(self._by_prompt):
            if marker in prompt:
                del self._by_prompt[at]
                return turn
        return self._scripts.pop(0) if self._scripts else ScriptedTurn()

    async def _send(self, sink: FileSink | None, cwd: str, step: SendFile) -> None:
        """As the SDK boundary's ``send_to_chat``: confine, hand to the sink."""
        try:
            if sink is None:
                raise ValueError("no chat is reading this turn")
            told = await sink(FileOffer(confine(step.path, cwd), step.caption))
        except ValueError as exc:
            self.sent.append(SentFile(step.path, f"Not sent: {exc}", is_error=True))
        else:
            self.sent.append(SentFile(step.path, told, is_error=False))

    async def _wait(self, stop: asyncio.Event, seconds: float | None) -> None:
        waiters = [asyncio.ensure_future(stop.wait())]
        if seconds is None:
            waiters.append(asyncio.ensure_future(self._release.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _ask(
        self, approver: Approver | None, sid: str, step: Ask, stop: asyncio.Event
    ) -> None:
        """An interrupt while the question is open ends the turn there, as the CLI's does
        (the question is withdrawn and no decision is recorded)."""
        if approver is None:
            self.decisions.append(ApprovalDecision.denied("no approver"))
            return
        request = ApprovalRequest(sid, step.tool_name, step.tool_input, f"toolu_{uuid.uuid4().hex}")
        asked = asyncio.ensure_future(approver(request))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait((asked, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not asked.done():
                asked.cancel()
                await asyncio.gather(asked, return_exceptions=True)
        if not asked.cancelled():
            self.decisions.append(asked.result())

    def _write(
        self, cwd: str, sid: str, prompt: str, reply: str, copy_of: str | None = None
    ) -> None:
        """The turn in the session's transcript and history.jsonl, as the CLI writes them."""
        if self.home is None:
            return
        write_session_turn(self.home, Path(cwd), sid, prompt, reply, copy_of=copy_of)


def write_session_turn(
    home: ClaudeHome,
    project: Path,
    session_id: str,
    prompt: str,
    reply: str,
    *,
    copy_of: str | None = None,
) -> None:
    """Append one prompt and its answer to a session, as Claude Code would have."""
    path = home.projects_dir / project_key(project) / f"{session_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    if copy_of and not path.exists():
        source = home.projects_dir / project_key(project) / f"{copy_of}.jsonl"
        if source.exists():
            path.write_bytes(source.read_bytes())
    messages: list[tuple[str, object]] = [
        ("user", prompt),
        ("assistant", [{"type": "text", "text": reply}]),
    ]
    with path.open("a", encoding="utf-8") as out:
        for role, content in messages:
            row = {
                "type": role,
                "message": {"role": role, "content": content, "id": f"msg_{uuid.uuid4().hex}"},
                "cwd": str(project),
                "sessionId": session_id,
            }
            out.write(json.dumps(row) + "\n")
    append_history_entry(
        home.history_path,
        display=prompt,
        project=project,
        session_id=session_id,
        timestamp_ms=_next_ms(),
    )


_last_ms = [0]


def _next_ms() -> int:
    """Now, but always after the last turn written: pickers order sessions by it."""
    _last_ms[0] = max(int(time.time() * 1000), _last_ms[0] + 1)
    return _last_ms[0]


def scripted_session(home: ClaudeHome, project: Path, prompt: str, reply: str = "") -> str:
    """A session as if a terminal had run one turn in ``project``; its id."""
    session_id = str(uuid.uuid4())
    write_session_turn(home, project, session_id, prompt, reply or f"SCRIPTED-REPLY to: {prompt}")
    return session_id
