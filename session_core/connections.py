"""The live Claude CLI connections of one runner: opened, running, kept or dropped.

A connection is opened by reusing the session's live CLI (unless someone else moved the
session on), resuming the session in a new CLI, or starting a fresh session; a resume
the CLI refuses falls back to a fresh session when the runner allows it. After a turn
the connection goes back to the pool (idle timeout, cap) so a follow-up skips the
start-up, or is discarded when it is unhealthy or the runner is closing. A chat's
``/new`` may start a spare ahead of the new session's first prompt (``warm``): it waits
idle in the pool under the session id it was started with until that prompt takes it.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from session_core.claude_home import ClaudeHome, find_transcript, is_safe_session_id
from session_core.client_pool import ClientPool
from session_core.events import ResumeFailure
from session_core.sdk_values import SdkError, TurnOptions
from session_core.session_choice import Target
from session_core.vocabulary import BYPASS, PermissionMode

if TYPE_CHECKING:  # the SDK (and mcp) is imported by the first connection
    from session_core.sdk_connection import ClaudeConnection

log = structlog.get_logger(__name__)

SETTLE_TIMEOUT_S = 10.0
SPARE_IDLE_S = 120.0
"""An unused spare is closed after this (a session's own CLI stays the pool's timeout)."""


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """What every connection of a runner gets, whatever the turn."""

    base_env: Mapping[str, str]
    cli_path: str | None = None
    max_turns: int | None = None
    max_budget_usd: float | None = None
    allow_bypass: bool = False
    fallback_on_resume_failure: bool = True


@dataclass(frozen=True, slots=True)
class TurnNeeds:
    """What one turn asks of its connection."""

    model: str | None
    with_approvals: bool
    permission_mode: PermissionMode | None = None
    chat_tools: bool = False


@dataclass(slots=True)
class Opened:
    connection: ClaudeConnection
    session_id: str
    cwd: str
    resumed: bool
    failure: ResumeFailure | None


class OpenFailed(Exception):
    def __init__(self, session_id: str, cwd: str, reason: str, failure: ResumeFailure | None):
        super().__init__(reason)
        self.session_id = session_id
        self.cwd = cwd
        self.reason = reason
        self.failure = failure


class Connections:
    """Opens, tracks and releases a runner's ``ClaudeConnection``s."""

    def __init__(
        self,
        home: ClaudeHome,
        settings: ConnectionSettings,
        *,
        idle_timeout_s: float = 600,
        max_live: int = 4,
    ) -> None:
        self._home = home
        self._settings = settings
        self.pool: ClientPool[ClaudeConnection] = ClientPool(
            idle_timeout_s=idle_timeout_s, max_live=max_live
        )
        self.running: dict[str, ClaudeConnection] = {}
        """Session id -> the connection whose turn runs now."""
        self._spare: tuple[str, str] | None = None
        """(cwd, session id) of a CLI started ahead for the next new session there."""
        self._warming: tuple[str, asyncio.Future[None]] | None = None
        """(cwd, done) while a spare is starting: a new session there waits for it."""
        self.closed = False

    async def open(
        self, target: Target, needs: TurnNeeds, *, new_id: str | None, fork: bool
    ) -> Opened:
        """A connection for ``target``: reused, resumed, or (after a refused resume) fresh.

        Raises ``OpenFailed`` when no CLI would take the turn.
        """
        failure: ResumeFailure | None = None
        sid = target.session_id
        if sid is not None:
            if not fork:
                reused = await self._reuse(sid, needs)
                if reused is not None:
                    return Opened(reused, sid, reused.cwd, True, None)
            try:
                if not is_safe_session_id(sid):  # never hand odd text to the CLI's argv
                    raise SdkError("not a valid session id")
                options = self.options(
                    target.cwd, needs, resume=sid, session_id=new_id if fork else None, fork=fork
                )
                connection = await self._connect(options)
                connection.cost_baseline = await asyncio.to_thread(self._session_cost, sid)
                return Opened(connection, new_id or sid, target.cwd, True, None)
            except SdkError as exc:
                failure = ResumeFailure(session_id=sid, reason=exc.reason)
                log.warning("resume_failed", session_id=sid, reason=exc.reason)
                if not self._settings.fallback_on_resume_failure:
                    raise OpenFailed(sid, target.cwd, exc.reason, failure) from exc
        spare = await self._take_spare(target.workdir, needs)
        if spare is not None:
            return Opened(spare[0], spare[1], target.workdir, False, failure)
        fresh_id = new_id or str(uuid.uuid4())
        options = self.options(target.workdir, needs, session_id=fresh_id)
        try:
            connection = await self._connect(options)
        except SdkError as exc:
            raise OpenFailed(fresh_id, target.workdir, exc.reason, failure) from exc
        return Opened(connection, fresh_id, target.workdir, False, failure)

    async def warm(self, cwd: str, needs: TurnNeeds) -> bool:
        """Start the CLI of the next new session in ``cwd`` now (a chat said ``/new``), so
        that session's first answer does not wait for Claude Code's start-up.

        Only when a slot is free without waiting behind running turns (an idle client may
        be closed for it, as a new session would); one spare at a time. The CLI writes no
        transcript before its first prompt, so an unused spare leaves nothing behind; it
        is closed like any idle client. Returns whether a spare is ready.
        """
        if self.closed:
            return False
        if self._spare is not None:
            if self._spare[0] == cwd and self.pool.has_idle(self._spare[1]):
                return True
            await self._drop_spare()
        if self.pool.ahead_of(None) is not None or self._warming is not None:
            return False
        done = asyncio.get_running_loop().create_future()
        self._warming = (cwd, done)
        sid = str(uuid.uuid4())
        try:  # a turn waiting for this spare looks for it once ``done`` is set
            try:
                connection = await self._connect(self.options(cwd, needs, session_id=sid))
            except SdkError as exc:
                log.info("spare_not_started", cwd=cwd, reason=exc.reason)
                return False
            if self.closed:
                await self.pool.discard(connection)
                return False
            await self.pool.give_back(sid, connection, idle_timeout_s=SPARE_IDLE_S)
            self._spare = (cwd, sid)
        finally:
            self._warming = None
            done.set_result(None)
        log.info("spare_started", cwd=cwd, session_id=sid)
        return True

    async def _take_spare(self, cwd: str, needs: TurnNeeds) -> tuple[ClaudeConnection, str] | None:
        """The spare for a new session in ``cwd``, if it is there and fits ``needs``
        (one still starting is waited for: it is further along than a new one would be)."""
        warming = self._warming
        if warming is not None and warming[0] == cwd:
            await asyncio.shield(warming[1])
        if self._spare is None or self._spare[0] != cwd:
            return None
        sid = self._spare[1]
        self._spare = None
        connection = await self._reuse(sid, needs)
        return (connection, sid) if connection is not None else None

    async def _drop_spare(self) -> None:
        if self._spare is not None:
            connection = self.pool.take(self._spare[1])
            self._spare = None
            if connection is not None:
                await self.pool.discard(connection)

    def options(
        self,
        cwd: str,
        needs: TurnNeeds,
        *,
        resume: str | None = None,
        session_id: str | None = None,
        fork: bool = False,
    ) -> TurnOptions:
        settings = self._settings
        return TurnOptions(
            cwd=cwd,
            env=settings.base_env,
            resume=resume,
            session_id=session_id,
            fork_session=fork,
            model=needs.model,
            max_turns=settings.max_turns,
            max_budget_usd=settings.max_budget_usd,
            with_approvals=needs.with_approvals,
            permission_mode=needs.permission_mode,
            cli_path=settings.cli_path,
            bypass_allowed=settings.allow_bypass,
            chat_tools=needs.chat_tools,
        )

    async def probe(
        self,
        cwd: str,
        session_id: str | None,
        on_info: Callable[[str, dict[str, Any] | None], None],
    ) -> tuple[dict[str, Any] | None, Mapping[str, Any] | None]:
        """(the CLI's initialize answer, the session's context usage), the answer also
        handed to ``on_info`` with the CLI's directory as soon as it is known: from the
        session's live CLI when there is one, else a short-lived CLI (resuming the session
        read-only: nothing is sent). Raises SdkError."""
        live = self.running.get(session_id) if session_id else None
        pooled = None if live or not session_id else self.pool.take(session_id)
        connection = live or pooled
        fresh = connection is None
        if connection is None:
            from session_core.sdk_connection import ClaudeConnection

            needs = TurnNeeds(model=None, with_approvals=False)
            connection = ClaudeConnection(self.options(cwd, needs, resume=session_id))
        try:
            if fresh:
                await connection.connect()
            info = await connection.server_info()
            on_info(connection.cwd, info)
            usage = await connection.context_usage() if session_id else None
        finally:
            if pooled is not None and session_id:
                await self.pool.give_back(session_id, pooled)
            elif fresh:
                await connection.close()
        return info, usage

    async def interrupt(self, session_id: str) -> bool:
        """Stop the turn running on ``session_id``; False if none is running."""
        connection = self.running.get(session_id)
        if connection is None:
            return False
        try:
            await connection.interrupt()
        except SdkError as exc:
            log.warning("interrupt_failed", session_id=session_id, reason=exc.reason)
            return False
        log.info("turn_interrupt_requested", session_id=session_id)
        return True

    async def release(
        self, connection: ClaudeConnection, sid: str, healthy: bool, *, abandoned: bool
    ) -> None:
        """After a turn: back to the pool, or closed when unhealthy or closing."""
        if abandoned:
            # The consumer walked away mid-turn: stop the CLI, keep it if it settles.
            healthy = await connection.settle(SETTLE_TIMEOUT_S)
            log.info("turn_abandoned", session_id=sid, settled=healthy)
        if not healthy or self.closed:
            await self.pool.discard(connection)
            return
        connection.transcript_mark = await asyncio.to_thread(
            self._transcript_mark, sid, connection.cwd
        )
        await self.pool.give_back(sid, connection)

    async def aclose(self) -> None:
        """Stop running turns and close every live CLI process."""
        self.closed = True
        for session_id in list(self.running):
            await self.interrupt(session_id)
        await self.pool.aclose()

    async def _connect(self, options: TurnOptions) -> ClaudeConnection:
        from session_core.sdk_connection import ClaudeConnection

        await self.pool.reserve()  # in line for a slot when every one runs a turn
        try:
            connection = ClaudeConnection(options)
        except BaseException:
            await self.pool.unreserve()
            raise
        self.pool.mark_busy(connection)
        try:
            await connection.connect()
        except BaseException:
            await self.pool.discard(connection)
            raise
        return connection

    async def _reuse(self, session_id: str, needs: TurnNeeds) -> ClaudeConnection | None:
        """The session's live connection, unless someone else moved the session on."""
        connection = self.pool.take(session_id)
        if connection is None:
            return None
        mode = needs.permission_mode
        why = None
        if connection.with_approvals != needs.with_approvals:
            why = "approvals changed"
        elif connection.options.chat_tools != needs.chat_tools:
            why = "chat tools changed"
        elif connection.transcript_mark != await asyncio.to_thread(
            self._transcript_mark, session_id, connection.cwd
        ):
            why = "transcript changed elsewhere"
        started_in_bypass = connection.options.permission_mode == BYPASS
        if why is None and started_in_bypass and mode != BYPASS:
            why = "leaving bypass"  # the process was started with IS_SANDBOX
        if why is None and mode and connection.permission_mode != mode:
            try:
                await connection.set_permission_mode(mode)
            except SdkError as exc:
                why = f"permission mode not switched: {exc.reason}"
        if why is None:
            return connection
        log.info("live_client_dropped", session_id=session_id, reason=why)
        await self.pool.discard(connection)
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


def turn_cost(connection: ClaudeConnection, session_total: float) -> float:
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
