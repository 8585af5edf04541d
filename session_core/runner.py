"""TurnRunner: one prompt, one turn of a Claude Code session, as a stream of events.

Which session: an explicit id resumes it; no id continues the newest session of the
directory that still has a transcript; ``force_new`` starts fresh. A resume the CLI
refuses falls back to a fresh session *and says so* (``resume_failure`` on both
TurnStarted and TurnFinished). A resumed turn runs in the session's own project
directory, wherever the message came from.

How: one turn at a time per session (FIFO), sessions in parallel; a live CLI process
per recently active session so a follow-up skips the start-up; one history.jsonl line
per prompt so the terminal's ``claude --resume`` and up-arrow see chat prompts.
Whatever happens, ``stream_turn`` yields TurnStarted first and TurnFinished last and
never raises for a turn that went wrong.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import threading
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import structlog

from session_core.approvals import Approver, PermissionMode
from session_core.catalog import SessionCatalog
from session_core.chat_tools import FileSink
from session_core.claude_commands import CommandBook, ContextUsage, SessionProbe, parse_commands
from session_core.claude_home import ClaudeHome, find_transcript, is_safe_session_id
from session_core.client_pool import ClientPool
from session_core.events import (
    ImageInput,
    Outcome,
    ResumeFailure,
    TurnEvent,
    TurnFinished,
    TurnStarted,
    WaitingForSlot,
)
from session_core.history_writer import append_history_entry
from session_core.permission_modes import effective_mode
from session_core.roots import ApprovedRoots, OutsideRoots
from session_core.sdk_values import SdkError, TranslationState, TurnOptions
from session_core.session_claims import SessionClaims
from session_core.turn_locks import SessionLocks

if TYPE_CHECKING:  # the SDK (and mcp) is imported by the first connection
    from session_core.sdk_connection import ClaudeConnection

log = structlog.get_logger(__name__)

_T = TypeVar("_T")
OnStream = Callable[[TurnEvent], Awaitable[None] | None]
SETTLE_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a turn goes before any CLI has started."""

    session_id: str | None  # None: a fresh session
    cwd: str  # where the turn runs: the session's own project directory
    workdir: str  # the caller's directory (realpath), for a fresh session


@dataclass(slots=True)
class _Opened:
    connection: ClaudeConnection
    session_id: str
    cwd: str
    resumed: bool
    failure: ResumeFailure | None


class _OpenFailed(Exception):
    def __init__(self, session_id: str, cwd: str, reason: str, failure: ResumeFailure | None):
        super().__init__(reason)
        self.session_id = session_id
        self.cwd = cwd
        self.reason = reason
        self.failure = failure


class TurnRunner:
    def __init__(
        self,
        home: ClaudeHome,
        catalog: SessionCatalog,
        *,
        base_env: Mapping[str, str],
        model: str | None = None,
        max_turns: int | None = None,
        max_budget_usd: float | None = None,
        idle_timeout_s: float = 600,
        max_live_clients: int = 4,
        approver: Approver | None = None,
        fallback_on_resume_failure: bool = True,
        claims_dir: Path | None = None,
        cli_path: str | None = None,
        allow_bypass: bool = False,
        roots: ApprovedRoots | None = None,
    ) -> None:
        self._home = home
        self._roots = roots
        self._cli_path = cli_path
        self._catalog = catalog
        self._base_env = dict(base_env)
        self._model = model
        self._max_turns = max_turns
        self._max_budget_usd = max_budget_usd
        self._approver = approver
        self._fallback = fallback_on_resume_failure
        self._allow_bypass = allow_bypass
        self._locks = SessionLocks()
        self._claims = SessionClaims(claims_dir) if claims_dir is not None else None
        self._pool: ClientPool[ClaudeConnection] = ClientPool(
            idle_timeout_s=idle_timeout_s, max_live=max_live_clients
        )
        self._running: dict[str, ClaudeConnection] = {}
        self.commands = CommandBook()
        """Claude Code's command list per directory, as the last turn's CLI offered it."""
        self._catalog_lock = threading.Lock()
        self._dispatch = asyncio.Lock()
        self._closed = False

    # what adapters ask ---------------------------------------------------------------

    def busy(self, session_id: str) -> bool:
        """A turn runs on this session now (a new prompt would wait)."""
        return self._locks.busy(session_id)

    def holder(self, session_id: str) -> str | None:
        """Who holds the session in any process sharing ``claims_dir`` (None: free)."""
        return self._claims.holder(session_id) if self._claims is not None else None

    def waiting(self, session_id: str) -> int:
        """Turns queued behind the running one on this session."""
        return self._locks.waiting(session_id)

    def live_sessions(self) -> list[str]:
        """Sessions with a live CLI process kept between turns (least recent first)."""
        return self._pool.idle_keys() + list(self._running)

    async def target_session(
        self,
        working_directory: str | os.PathLike[str],
        session_id: str | None = None,
        force_new: bool = False,
    ) -> str | None:
        """The session a turn with these arguments would go to (None: a new one)."""
        target = await asyncio.to_thread(
            self._resolve_target, working_directory, session_id, force_new
        )
        return target.session_id

    # turns ---------------------------------------------------------------------------

    async def run_command(
        self,
        prompt: str,
        working_directory: str | os.PathLike[str],
        user_id: str | int,
        session_id: str | None = None,
        on_stream: OnStream | None = None,
        force_new: bool = False,
        *,
        approver: Approver | None = None,
        model: str | None = None,
    ) -> TurnFinished:
        """The seed's entry point: run the turn, hand each event to ``on_stream``."""
        finished: TurnFinished | None = None
        async with aclosing(
            self.stream_turn(
                prompt,
                working_directory,
                user_id,
                session_id,
                force_new,
                approver=approver,
                model=model,
            )
        ) as events:
            async for event in events:
                if on_stream is not None:
                    maybe = on_stream(event)
                    if inspect.isawaitable(maybe):
                        await maybe
                if isinstance(event, TurnFinished):
                    finished = event
        assert finished is not None, "stream_turn always ends with TurnFinished"
        return finished

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
        """Run one turn; TurnStarted first, TurnFinished last, nothing raised.

        With ``file_sink`` (a chat drives the turn) the model gets ``send_to_chat``.

        ``fork`` resumes the session's history into a new session id. Close the
        iterator (``aclosing``) if you stop early: the turn is then interrupted and
        the session freed.
        """
        if self._closed:
            sid = session_id or ""
            where = os.fspath(working_directory)
            yield TurnStarted(session_id=sid, working_directory=where, resumed=False)
            yield TurnFinished(outcome="error", session_id=sid, error="the runner is closed")
            return
        async with self._dispatch:
            # Turns take their place in a session's line in the order they were asked.
            target = await asyncio.to_thread(
                self._resolve_target, working_directory, session_id, force_new
            )
            refused = self._outside_roots(target)
            if refused is None:
                target = self._checked(target)
                fresh = target.session_id is None or fork
                lock_id = str(uuid.uuid4()) if fresh else str(target.session_id)
                ticket = self._locks.take_ticket(lock_id)
        if refused is not None:
            sid = target.session_id or ""
            log.warning("turn_outside_roots", session_id=sid, reason=refused)
            yield TurnStarted(session_id=sid, working_directory=target.cwd, resumed=False)
            yield TurnFinished(outcome="error", session_id=sid, error=refused)
            return
        use_approver = approver or self._approver
        turn_model = model or self._model
        if permission_mode is not None:  # the last gate: bypass only when the operator allows
            permission_mode = effective_mode(
                permission_mode, None, allow_bypass=self._allow_bypass
            ).mode
        log.info(
            "turn_requested",
            user_id=user_id,
            session_id=target.session_id,
            cwd=target.cwd,
            force_new=force_new,
            fork=fork,
            prompt_chars=len(prompt),
            queued=not ticket.holding,
        )
        async with AsyncExitStack() as stack:
            stack.callback(ticket.release)
            await ticket.wait()
            if self._claims is not None and target.session_id is not None and not fork:
                # Other processes (a second bot, `baton ask`) wait their turn too.
                await stack.enter_async_context(self._claims.claim(target.session_id, str(user_id)))
            ahead = self._pool.ahead_of(None if fresh else target.session_id)
            if ahead is not None:
                yield WaitingForSlot(ahead=ahead, limit=self._pool.max_live)
            try:
                opened = await self._open(
                    target,
                    new_id=lock_id if fresh else None,
                    fork=fork,
                    model=turn_model,
                    with_approvals=use_approver is not None,
                    permission_mode=permission_mode,
                    chat_tools=file_sink is not None,
                )
            except _OpenFailed as failed:
                log.warning("turn_not_started", session_id=failed.session_id, reason=failed.reason)
                yield TurnStarted(
                    session_id=failed.session_id,
                    working_directory=failed.cwd,
                    resumed=False,
                    resume_failure=failed.failure,
                )
                outcome: Outcome = (
                    "resume_failed" if failed.failure and not self._fallback else "error"
                )
                yield TurnFinished(
                    outcome=outcome,
                    session_id=failed.session_id,
                    error=failed.reason,
                    resume_failure=failed.failure,
                )
                return
            if opened.session_id != lock_id:  # the fresh fallback of a failed resume
                fallback = self._locks.take_ticket(opened.session_id)
                stack.callback(fallback.release)
                await fallback.wait()
            async with aclosing(
                self._drive(opened, prompt, user_id, use_approver, turn_model, images, file_sink)
            ) as events:
                async for event in events:
                    yield event

    async def probe(
        self, working_directory: str | os.PathLike[str], session_id: str | None = None
    ) -> SessionProbe:
        """Claude Code's commands for a directory and, with ``session_id``, the session's
        context usage: from its live CLI when there is one, else a short-lived CLI
        (resuming the session read-only: nothing is sent). Raises SdkError."""
        cwd = os.fspath(working_directory)
        live = self._running.get(session_id) if session_id else None
        pooled = None if live or not session_id else self._pool.take(session_id)
        connection = live or pooled
        fresh = connection is None
        if connection is None:
            from session_core.sdk_connection import ClaudeConnection

            options = self._options(cwd, resume=session_id, model=None, with_approvals=False)
            connection = ClaudeConnection(options)
        try:
            if fresh:
                await connection.connect()
            info = await connection.server_info()
            self.commands.remember(connection.cwd, info)
            usage = await connection.context_usage() if session_id else None
        finally:
            if pooled is not None and session_id:
                await self._pool.give_back(session_id, pooled)
            elif fresh:
                await connection.close()
        return SessionProbe(
            parse_commands(info), ContextUsage.parse(usage) if usage is not None else None
        )

    async def interrupt(self, session_id: str) -> bool:
        """Stop the turn running on ``session_id``; False if none is running."""
        connection = self._running.get(session_id)
        if connection is None:
            return False
        try:
            await connection.interrupt()
        except SdkError as exc:
            log.warning("interrupt_failed", session_id=session_id, reason=exc.reason)
            return False
        log.info("turn_interrupt_requested", session_id=session_id)
        return True

    async def aclose(self) -> None:
        """Stop running turns and close every live CLI process."""
        self._closed = True
        for session_id in list(self._running):
            await self.interrupt(session_id)
        await self._pool.aclose()

    # internals -----------------------------------------------------------------------

    def _resolve_target(
        self, working_directory: str | os.PathLike[str], session_id: str | None, force_new: bool
    ) -> _Target:
        """Pick the session and its directory (blocking: runs in a worker thread)."""
        workdir = os.path.realpath(working_directory)
        if force_new:
            return _Target(None, workdir, workdir)
        if session_id:
            # The catalog knows the project from history.jsonl, or else from the transcript.
            project = self._catalog_read(lambda: self._catalog.project_of(session_id))
            cwd = project if project and _is_dir(project) else workdir
            return _Target(session_id, cwd, workdir)
        newest = self._catalog_read(lambda: self._catalog.newest_resumable(workdir))
        if newest is None:
            return _Target(None, workdir, workdir)
        project = newest.project if _is_dir(newest.project) else workdir
        return _Target(newest.session_id, project, workdir)

    def _outside_roots(self, target: _Target) -> str | None:
        """Why the turn may not run where it would (None: it may), decided again here at
        turn start by the one roots check, whatever the caller checked before."""
        if self._roots is None:
            return None
        try:
            self._roots.check(target.cwd)
            self._roots.check(target.workdir)
        except OutsideRoots as exc:
            return str(exc)
        return None

    def _checked(self, target: _Target) -> _Target:
        """The target with the very real paths the roots check approved."""
        if self._roots is None:
            return target
        cwd, workdir = self._roots.check(target.cwd), self._roots.check(target.workdir)
        return replace(target, cwd=str(cwd), workdir=str(workdir))

    def _catalog_read(self, call: Callable[[], _T]) -> _T | None:
        """One catalog read at a time (its index is not thread-safe); never fatal."""
        with self._catalog_lock:
            try:
                return call()
            except Exception as exc:
                log.warning("catalog_read_failed", error=str(exc))
                return None

    async def _open(
        self,
        target: _Target,
        *,
        new_id: str | None,
        fork: bool,
        model: str | None,
        with_approvals: bool,
        permission_mode: PermissionMode | None = None,
        chat_tools: bool = False,
    ) -> _Opened:
        failure: ResumeFailure | None = None
        sid = target.session_id
        if sid is not None:
            if not fork:
                reused = await self._reuse(sid, with_approvals, permission_mode, chat_tools)
                if reused is not None:
                    return _Opened(reused, sid, reused.cwd, True, None)
            try:
                if not is_safe_session_id(sid):  # never hand odd text to the CLI's argv
                    raise SdkError("not a valid session id")
                options = self._options(
                    target.cwd,
                    resume=sid,
                    session_id=new_id if fork else None,
                    fork=fork,
                    model=model,
                    with_approvals=with_approvals,
                    permission_mode=permission_mode,
                    chat_tools=chat_tools,
                )
                connection = await self._connect(options)
                connection.cost_baseline = await asyncio.to_thread(self._session_cost, sid)
                return _Opened(connection, new_id or sid, target.cwd, True, None)
            except SdkError as exc:
                failure = ResumeFailure(session_id=sid, reason=exc.reason)
                log.warning("resume_failed", session_id=sid, reason=exc.reason)
                if not self._fallback:
                    raise _OpenFailed(sid, target.cwd, exc.reason, failure) from exc
        fresh_id = new_id or str(uuid.uuid4())
        options = self._options(
            target.workdir,
            session_id=fresh_id,
            model=model,
            with_approvals=with_approvals,
            permission_mode=permission_mode,
            chat_tools=chat_tools,
        )
        try:
            connection = await self._connect(options)
        except SdkError as exc:
            raise _OpenFailed(fresh_id, target.workdir, exc.reason, failure) from exc
        return _Opened(connection, fresh_id, target.workdir, False, failure)

    def _options(
        self,
        cwd: str,
        *,
        resume: str | None = None,
        session_id: str | None = None,
        fork: bool = False,
        model: str | None,
        with_approvals: bool,
        permission_mode: PermissionMode | None = None,
        chat_tools: bool = False,
    ) -> TurnOptions:
        return TurnOptions(
            cwd=cwd,
            env=self._base_env,
            resume=resume,
            session_id=session_id,
            fork_session=fork,
            model=model,
            max_turns=self._max_turns,
            max_budget_usd=self._max_budget_usd,
            with_approvals=with_approvals,
            permission_mode=permission_mode,
            cli_path=self._cli_path,
            bypass_allowed=self._allow_bypass,
            chat_tools=chat_tools,
        )

    async def _connect(self, options: TurnOptions) -> ClaudeConnection:
        from session_core.sdk_connection import ClaudeConnection

        await self._pool.reserve()  # in line for a slot when every one runs a turn
        try:
            connection = ClaudeConnection(options)
        except BaseException:
            await self._pool.unreserve()
            raise
        self._pool.mark_busy(connection)
        try:
            await connection.connect()
        except BaseException:
            await self._pool.discard(connection)
            raise
        return connection

    async def _reuse(
        self,
        session_id: str,
        with_approvals: bool,
        permission_mode: PermissionMode | None = None,
        chat_tools: bool = False,
    ) -> ClaudeConnection | None:
        """The session's live connection, unless someone else moved the session on."""
        connection = self._pool.take(session_id)
        if connection is None:
            return None
        why = None
        if connection.with_approvals != with_approvals:
            why = "approvals changed"
        elif connection.options.chat_tools != chat_tools:
            why = "chat tools changed"
        elif connection.transcript_mark != await asyncio.to_thread(
            self._transcript_mark, session_id, connection.cwd
        ):
            why = "transcript changed elsewhere"
        started_in_bypass = connection.options.permission_mode == "bypassPermissions"
        if why is None and started_in_bypass and permission_mode != "bypassPermissions":
            why = "leaving bypass"  # the process was started with IS_SANDBOX
        if why is None and permission_mode and connection.permission_mode != permission_mode:
            try:
                await connection.set_permission_mode(permission_mode)
            except SdkError as exc:
                why = f"permission mode not switched: {exc.reason}"
        if why is None:
            return connection
        log.info("live_client_dropped", session_id=session_id, reason=why)
        await self._pool.discard(connection)
        return None

    def _session_cost(self, session_id: str) -> float:
        path = find_transcript(self._home, session_id)
        return last_cost_total(path) if path is not None else 0.0

    def _transcript_mark(self, session_id: str, cwd: str) -> tuple[int, int] | None:
        path = find_transcript(self._home, session_id, hint_directory=cwd)
        if path is None:
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        return (stat.st_size, stat.st_mtime_ns)

    async def _drive(
        self,
        opened: _Opened,
        prompt: str,
        user_id: str | int,
        approver: Approver | None,
        model: str | None,
        images: Sequence[ImageInput] = (),
        file_sink: FileSink | None = None,
    ) -> AsyncGenerator[TurnEvent, None]:
        connection, sid = opened.connection, opened.session_id
        connection.approver = approver
        connection.file_sink = file_sink
        self._running[sid] = connection
        state = TranslationState()
        finished: TurnFinished | None = None
        healthy = True
        sent = False  # once the prompt is out, leaving early means stopping the CLI's turn
        try:
            log.info(
                "turn_started",
                user_id=user_id,
                session_id=sid,
                cwd=opened.cwd,
                resumed=opened.resumed,
                resume_failed=opened.failure.session_id if opened.failure else None,
                live_client=connection.turns > 0,
            )
            yield TurnStarted(
                session_id=sid,
                working_directory=opened.cwd,
                resumed=opened.resumed,
                resume_failure=opened.failure,
            )
            if model != connection.model:
                await connection.set_model(model)
            self.commands.remember(opened.cwd, await connection.server_info())
            recorded = False
            sent = True
            async with aclosing(connection.turn(prompt, state, images)) as messages:
                async for events in messages:
                    if not recorded and state.session_id:
                        recorded = True
                        await self._record_prompt(prompt, opened.cwd, state.session_id)
                    for event in events:
                        if isinstance(event, TurnFinished):
                            finished = replace(
                                event,
                                cost_usd=_turn_cost(connection, event.cost_usd),
                                resume_failure=opened.failure,
                            )
                        else:
                            yield event
        except SdkError as exc:
            healthy = False
            log.warning("turn_failed", session_id=sid, reason=exc.reason)
            finished = TurnFinished(
                outcome="error", session_id=sid, error=exc.reason, resume_failure=opened.failure
            )
        finally:
            self._running.pop(sid, None)
            connection.approver = None
            connection.file_sink = None
            # Shielded: a consumer cancelled twice must still not leak the CLI process.
            await asyncio.shield(
                self._release(
                    connection, sid, healthy, abandoned=sent and finished is None and healthy
                )
            )
        if finished is not None:
            if finished.session_id and finished.session_id != sid:
                log.warning("session_id_changed", expected=sid, reported=finished.session_id)
            log.info(
                "turn_finished",
                session_id=finished.session_id,
                outcome=finished.outcome,
                cost_usd=finished.cost_usd,
                duration_ms=finished.duration_ms,
                error=finished.error,
            )
            yield finished

    async def _release(
        self, connection: ClaudeConnection, sid: str, healthy: bool, *, abandoned: bool
    ) -> None:
        if abandoned:
            # The consumer walked away mid-turn: stop the CLI, keep it if it settles.
            healthy = await connection.settle(SETTLE_TIMEOUT_S)
            log.info("turn_abandoned", session_id=sid, settled=healthy)
        if not healthy or self._closed:
            await self._pool.discard(connection)
            return
        connection.transcript_mark = await asyncio.to_thread(
            self._transcript_mark, sid, connection.cwd
        )
        await self._pool.give_back(sid, connection)

    async def _record_prompt(self, prompt: str, project: str, session_id: str) -> None:
        """One history.jsonl line, as the terminal writes it, so ``claude`` sees the prompt."""
        try:
            await asyncio.to_thread(self._append_history, prompt, project, session_id)
        except Exception as exc:  # the turn matters more than its index line
            log.warning("history_append_failed", session_id=session_id, error=str(exc))

    def _append_history(self, prompt: str, project: str, session_id: str) -> None:
        append_history_entry(
            self._home.history_path,
            display=prompt,
            project=os.path.realpath(project),
            session_id=session_id,
        )


def _turn_cost(connection: ClaudeConnection, session_total: float) -> float:
    """This turn's cost: the CLI reports the session's running total (restored on resume)."""
    cost = max(0.0, session_total - connection.cost_baseline)
    connection.cost_baseline = max(connection.cost_baseline, session_total)
    return cost


def last_cost_total(path: Path, tail_bytes: int = 256 << 10) -> float:
    """The session's running cost from the transcript's last ``cost-state`` line (0 if none)."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - tail_bytes))
            lines = fh.read().splitlines()
    except OSError:
        return 0.0
    for raw in reversed(lines):
        if b'"cost-state"' not in raw:
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        total = entry.get("totalCostUSD") if isinstance(entry, dict) else None
        if isinstance(total, int | float):
            return float(total)
    return 0.0


def _is_dir(path: str | None) -> bool:
    return bool(path) and os.path.isdir(path or "")
