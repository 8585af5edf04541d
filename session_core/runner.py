"""TurnRunner: one prompt, one turn of a Claude Code session, as a stream of events.

Which session is ``session_choice``'s job; opening, reusing and releasing the CLI is
``connections``'. The runner puts them in order: one turn at a time per session (FIFO),
sessions in parallel, across processes through ``session_claims``; one history.jsonl
line per prompt so the terminal's ``claude --resume`` and up-arrow see chat prompts.
A resume the CLI refuses falls back to a fresh session *and says so*
(``resume_failure`` on both TurnStarted and TurnFinished). Whatever happens,
``stream_turn`` yields TurnStarted first and TurnFinished last and never raises for a
turn that went wrong.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import AsyncExitStack, aclosing
from dataclasses import replace
from pathlib import Path

import structlog

from session_core.approvals import Approver
from session_core.catalog import SessionCatalog
from session_core.chat_tools import FileSink
from session_core.claude_commands import CommandBook, ContextUsage, SessionProbe, parse_commands
from session_core.claude_home import ClaudeHome
from session_core.connections import (
    Connections,
    ConnectionSettings,
    Opened,
    OpenFailed,
    TurnNeeds,
    turn_cost,
)
from session_core.events import (
    ImageInput,
    Outcome,
    TurnEvent,
    TurnFinished,
    TurnStarted,
    WaitingForSlot,
)
from session_core.history_writer import append_history_entry
from session_core.permission_modes import effective_mode
from session_core.roots import ApprovedRoots
from session_core.sdk_values import SdkError, TranslationState
from session_core.session_choice import SessionChoice
from session_core.session_claims import SessionClaims
from session_core.turn_locks import SessionLocks
from session_core.vocabulary import PermissionMode

log = structlog.get_logger(__name__)


class TurnRunner:
    """Runs turns: the session layer's one entry point for every door."""

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
        self._model = model
        self._approver = approver
        self._fallback = fallback_on_resume_failure
        self._allow_bypass = allow_bypass
        self._choice = SessionChoice(catalog, roots)
        self._connections = Connections(
            home,
            ConnectionSettings(
                base_env=dict(base_env),
                cli_path=cli_path,
                max_turns=max_turns,
                max_budget_usd=max_budget_usd,
                allow_bypass=allow_bypass,
                fallback_on_resume_failure=fallback_on_resume_failure,
            ),
            idle_timeout_s=idle_timeout_s,
            max_live=max_live_clients,
        )
        self._locks = SessionLocks()
        self._claims = SessionClaims(claims_dir) if claims_dir is not None else None
        self.commands = CommandBook()
        """Claude Code's command list per directory, as the last turn's CLI offered it."""
        self._dispatch = asyncio.Lock()

    # what adapters ask ---------------------------------------------------------------

    def busy(self, session_id: str) -> bool:
        """A turn runs on this session now (a new prompt would wait)."""
        return self._locks.busy(session_id)

    def holder(self, session_id: str) -> str | None:
        """Who holds the session in any process sharing ``claims_dir`` (None: free)."""
        return self._claims.holder(session_id) if self._claims is not None else None

    async def target_session(
        self,
        working_directory: str | os.PathLike[str],
        session_id: str | None = None,
        force_new: bool = False,
    ) -> str | None:
        """The session a turn with these arguments would go to (None: a new one)."""
        target = await asyncio.to_thread(
            self._choice.resolve, working_directory, session_id, force_new
        )
        return target.session_id

    async def warm_new_session(
        self,
        working_directory: str | os.PathLike[str],
        *,
        model: str | None = None,
        permission_mode: PermissionMode | None = None,
        with_approvals: bool = True,
        chat_tools: bool = False,
    ) -> bool:
        """Start the CLI for the next new session in ``working_directory`` ahead of its
        first prompt (a chat said ``/new``; the person is still typing). The arguments
        are what that turn will pass; a model or mode changed meanwhile is switched on
        the spare, other differences mean a fresh start. A hint: False when nothing was
        started (outside the roots, no free slot, the CLI would not start)."""
        target = await asyncio.to_thread(self._choice.resolve, working_directory, None, True)
        if self._choice.refusal(target) is not None:
            return False
        if permission_mode is not None:
            permission_mode = effective_mode(
                permission_mode, None, allow_bypass=self._allow_bypass
            ).mode
        needs = TurnNeeds(
            model=model or self._model,
            with_approvals=with_approvals or self._approver is not None,
            permission_mode=permission_mode,
            chat_tools=chat_tools,
        )
        return await self._connections.warm(self._choice.approved(target).workdir, needs)

    # turns ---------------------------------------------------------------------------

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
        if self._connections.closed:
            sid = session_id or ""
            where = os.fspath(working_directory)
            yield TurnStarted(session_id=sid, working_directory=where, resumed=False)
            yield TurnFinished(outcome="error", session_id=sid, error="the runner is closed")
            return
        async with self._dispatch:
            # Turns take their place in a session's line in the order they were asked.
            target = await asyncio.to_thread(
                self._choice.resolve, working_directory, session_id, force_new
            )
            refused = self._choice.refusal(target)
            if refused is None:
                target = self._choice.approved(target)
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
            pool = self._connections.pool
            ahead = pool.ahead_of(None if fresh else target.session_id)
            if ahead is not None:
                yield WaitingForSlot(ahead=ahead, limit=pool.max_live)
            try:
                needs = TurnNeeds(
                    model=turn_model,
                    with_approvals=use_approver is not None,
                    permission_mode=permission_mode,
                    chat_tools=file_sink is not None,
                )
                opened = await self._connections.open(
                    target, needs, new_id=lock_id if fresh else None, fork=fork
                )
            except OpenFailed as failed:
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
        info, usage = await self._connections.probe(
            os.fspath(working_directory), session_id, self.commands.remember
        )
        return SessionProbe(
            parse_commands(info), ContextUsage.parse(usage) if usage is not None else None
        )

    async def interrupt(self, session_id: str) -> bool:
        """Stop the turn running on ``session_id``; False if none is running."""
        return await self._connections.interrupt(session_id)

    async def aclose(self) -> None:
        """Stop running turns and close every live CLI process."""
        await self._connections.aclose()

    # internals -----------------------------------------------------------------------

    async def _drive(
        self,
        opened: Opened,
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
        self._connections.running[sid] = connection
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
                                cost_usd=turn_cost(connection, event.cost_usd),
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
            self._connections.running.pop(sid, None)
            connection.approver = None
            connection.file_sink = None
            # Shielded: a consumer cancelled twice must still not leak the CLI process.
            await asyncio.shield(
                self._connections.release(
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
