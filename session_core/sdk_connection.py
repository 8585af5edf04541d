"""ClaudeConnection: one live Claude CLI process (a ``ClaudeSDKClient``) per session.

Connects, sends a turn and yields its events (through ``sdk_events.translate``), answers
tool questions through the turn's approver, offers the chat's ``send_to_chat`` tool,
interrupts and settles. Every SDK failure becomes an ``SdkError`` with one short line.
One of the three SDK-boundary modules allowed to import ``claude_agent_sdk``; the
runner imports it only when the first connection is made, so start-up stays light.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any

import structlog
from claude_agent_sdk import (
    ClaudeSDKClient,
    PermissionResultAllow,
    PermissionResultDeny,
    ProcessError,
    ResultError,
    ToolPermissionContext,
    create_sdk_mcp_server,
    tool,
)
from claude_agent_sdk.types import McpSdkServerConfig

from session_core.approvals import ApprovalDecision, ApprovalRequest, Approver, PlanNotes
from session_core.chat_tools import (
    SEND_TO_CHAT,
    SEND_TO_CHAT_DESCRIPTION,
    SEND_TO_CHAT_SCHEMA,
    SEND_TO_CHAT_TOOL,
    SERVER_NAME,
    FileOffer,
    FileSink,
    confine,
)
from session_core.events import ImageInput, ToolStarted, TurnEvent
from session_core.sdk_events import translate
from session_core.sdk_options import build_options
from session_core.sdk_values import SdkError, TranslationState, TurnOptions, short_reason
from session_core.vocabulary import PermissionMode

log = structlog.get_logger(__name__)


def error_reason(exc: BaseException, stderr_tail: str = "") -> str:
    """One short line saying why, from what the CLI reported."""
    if isinstance(exc, ResultError):
        text = "; ".join(exc.errors) or exc.result or str(exc)
    elif isinstance(exc, ProcessError):
        text = stderr_tail or (exc.stderr or "") or str(exc)
    else:
        text = str(exc) or type(exc).__name__
    text = text.removeprefix("Claude Code returned an error result: ")
    return short_reason(text.replace(" (exit code: 1)", ""))


class ClaudeConnection:
    """One live Claude CLI process holding one session, reused across turns.

    ``approver`` is looked up on every tool question, so the runner can point a
    shared connection at the chat whose turn is running.
    """

    def __init__(self, options: TurnOptions) -> None:
        self.options = options
        self.session_id: str | None = options.session_id or options.resume
        self.cwd = options.cwd
        self.model = options.model
        self.permission_mode: PermissionMode | None = options.permission_mode
        self.approver: Approver | None = None
        self.file_sink: FileSink | None = None
        """Where ``send_to_chat`` delivers; set per turn like ``approver``."""
        self.turns = 0
        self.transcript_mark: tuple[int, int] | None = None
        """(size, mtime_ns) of the transcript when our last turn ended."""
        self.cost_baseline = 0.0
        """The session's running cost before this turn (the CLI reports a running total)."""
        self._stderr: deque[str] = deque(maxlen=40)
        can_use_tool = self._can_use_tool if options.with_approvals else None
        self._client = ClaudeSDKClient(
            build_options(
                options,
                can_use_tool=can_use_tool,
                stderr=self._stderr.append,
                chat_server=self._chat_server() if options.chat_tools else None,
            )
        )
        self._state: TranslationState | None = None
        self._stop_requested = False
        self._plans = PlanNotes()
        """The turn's ExitPlanMode plans: the CLI asks to approve the call without
        always repeating the plan, so the request gets it from here."""

    @property
    def with_approvals(self) -> bool:
        return self.options.with_approvals

    def stderr_tail(self, lines: int = 5) -> str:
        return "\n".join(list(self._stderr)[-lines:])

    async def connect(self) -> None:
        """Start the CLI (and, when resuming, load the session); SdkError if it fails."""
        try:
            await self._client.connect()
        except Exception as exc:
            raise SdkError(error_reason(exc, self.stderr_tail())) from exc

    async def set_permission_mode(self, mode: PermissionMode) -> None:
        try:
            await self._client.set_permission_mode(mode)
        except Exception as exc:
            raise SdkError(error_reason(exc, self.stderr_tail())) from exc
        self.permission_mode = mode

    async def set_model(self, model: str | None) -> None:
        try:
            await self._client.set_model(model)
        except Exception as exc:
            raise SdkError(error_reason(exc, self.stderr_tail())) from exc
        self.model = model

    async def turn(
        self, prompt: str, state: TranslationState, images: Sequence[ImageInput] = ()
    ) -> AsyncGenerator[list[TurnEvent], None]:
        """Send ``prompt`` and yield the events of each SDK message, up to TurnFinished.

        Yields a (possibly empty) list per message so the caller can look at
        ``state`` (e.g. the session id from ``init``) as soon as it changes.
        """
        self._state = state
        self._plans = PlanNotes()
        self.turns += 1
        try:
            await self._client.query(user_message(prompt, images) if images else prompt)
            if self._stop_requested:  # interrupt() came before the prompt was out
                state.interrupt_requested = True
                await self._client.interrupt()
            async for message in self._client.receive_response():
                events = translate(message, state)
                for event in events:
                    if isinstance(event, ToolStarted):
                        self._plans.note(event.tool_use_id, event.name, event.input)
                if state.session_id:
                    self.session_id = state.session_id
                yield events
        except Exception as exc:
            raise SdkError(error_reason(exc, self.stderr_tail())) from exc
        finally:
            self._state = None
            self._stop_requested = False
        if state.finished is None:
            raise SdkError(self.stderr_tail(1) or "the Claude CLI stopped without a result")

    async def server_info(self) -> dict[str, Any] | None:
        """The CLI's initialize answer (commands, skills), kept since connect: no round trip."""
        try:
            return await self._client.get_server_info()
        except Exception as exc:
            raise SdkError(error_reason(exc, self.stderr_tail())) from exc

    async def context_usage(self) -> Mapping[str, Any]:
        """What ``/context`` shows, asked of the CLI."""
        try:
            return dict(await self._client.get_context_usage())
        except Exception as exc:
            raise SdkError(error_reason(exc, self.stderr_tail())) from exc

    async def interrupt(self) -> None:
        """Ask the CLI to stop the current (or imminent) turn; it still ends with a result."""
        self._stop_requested = True
        if self._state is None:
            return
        self._state.interrupt_requested = True
        try:
            await self._client.interrupt()
        except Exception as exc:
            raise SdkError(error_reason(exc, self.stderr_tail())) from exc

    async def settle(self, timeout_s: float) -> bool:
        """Stop a turn nobody reads any more and consume it up to its result.

        True when the CLI is idle again and the connection can serve the next turn.
        """
        try:
            async with asyncio.timeout(timeout_s):
                await self._client.interrupt()
                async for message in self._client.receive_response():
                    del message
            return True
        except Exception as exc:
            log.info("connection_not_settled", error=str(exc) or type(exc).__name__)
            return False

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._client.disconnect()

    def _chat_server(self) -> McpSdkServerConfig:
        @tool(SEND_TO_CHAT, SEND_TO_CHAT_DESCRIPTION, SEND_TO_CHAT_SCHEMA)
        async def send_to_chat(args: dict[str, Any]) -> dict[str, Any]:
            return await self._send_to_chat(args)

        return create_sdk_mcp_server(SERVER_NAME, tools=[send_to_chat])

    async def _send_to_chat(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """The tool's body: confine, hand to the chat's sink, tell the model the outcome."""
        sink = self.file_sink
        try:
            if sink is None:
                raise ValueError("no chat is reading this turn")
            path = confine(str(args.get("path") or ""), self.cwd)
            told = await sink(FileOffer(path, str(args.get("caption") or "")))
        except ValueError as exc:
            log.info("send_to_chat_refused", reason=str(exc))
            return {"content": [{"type": "text", "text": f"Not sent: {exc}"}], "is_error": True}
        return {"content": [{"type": "text", "text": told}]}

    async def _can_use_tool(
        self, tool_name: str, tool_input: dict[str, Any], context: ToolPermissionContext
    ) -> PermissionResultAllow | PermissionResultDeny:
        if tool_name == SEND_TO_CHAT_TOOL and self.options.chat_tools:
            return PermissionResultAllow()
        approver = self.approver
        if approver is None:
            return PermissionResultDeny(message="No one is there to approve this tool call.")
        request = ApprovalRequest(
            session_id=self.session_id or "",
            tool_name=tool_name,
            tool_input=dict(tool_input),
            tool_use_id=context.tool_use_id,
            reason=context.decision_reason,
            title=context.title,
            description=context.description,
        )
        request = self._plans.complete(request)
        try:
            decision = await approver(request)
        except Exception as exc:
            log.warning("approver_failed", tool=tool_name, error=str(exc))
            decision = ApprovalDecision.denied(f"Approval failed: {exc}")
        if decision.allow:
            updated = dict(decision.updated_input) if decision.updated_input is not None else None
            return PermissionResultAllow(updated_input=updated)
        return PermissionResultDeny(message=decision.message, interrupt=decision.interrupt)


async def user_message(prompt: str, images: Sequence[ImageInput]) -> AsyncIterator[dict[str, Any]]:
    """One user message with image blocks before the text, as the Messages API takes it."""
    content: list[dict[str, Any]] = [
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": image.media_type,
                "data": base64.b64encode(image.data).decode("ascii"),
            },
        }
        for image in images
    ]
    if prompt.strip():
        content.append({"type": "text", "text": prompt})
    yield {
        "type": "user",
        "message": {"role": "user", "content": content},
        "parent_tool_use_id": None,
    }
