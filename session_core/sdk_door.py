"""The one door to claude-agent-sdk: options in, our turn events out.

Nothing else in claude-baton imports ``claude_agent_sdk``. This module builds the
``ClaudeAgentOptions`` a turn needs (so a chat turn behaves like the terminal: the
Claude Code system prompt, user/project/local settings, CLAUDE.md, MCP, skills),
wraps one live ``ClaudeSDKClient`` as a ``ClaudeConnection``, and translates SDK
messages into ``session_core.events`` with the pure function ``translate``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog
from claude_agent_sdk import (
    AssistantMessage,
    CanUseTool,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    PermissionResultAllow,
    PermissionResultDeny,
    ProcessError,
    ResultError,
    ResultMessage,
    SettingSource,
    StreamEvent,
    SystemMessage,
    TextBlock,
    ToolPermissionContext,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
    create_sdk_mcp_server,
    tool,
)
from claude_agent_sdk.types import McpSdkServerConfig, SystemPromptPreset

from session_core.approvals import ApprovalDecision, ApprovalRequest, Approver, PermissionMode
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
from session_core.child_guard import guarded_cli_path, parent_env
from session_core.claude_cli import bundled_cli
from session_core.door_types import DoorError as DoorError
from session_core.door_types import TranslationState as TranslationState
from session_core.door_types import TurnOptions as TurnOptions
from session_core.events import (
    ImageInput,
    Outcome,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnEvent,
    TurnFinished,
    Usage,
)
from session_core.permission_modes import effective_mode

log = structlog.get_logger(__name__)

ENTRYPOINT = "claude-baton"
"""``CLAUDE_CODE_ENTRYPOINT`` for every CLI we start: transcripts then carry it, the
terminal's ``claude --resume`` picker lists our sessions (it hides ``sdk-*``), and the
catalog can tell our own live processes from a terminal's."""

SETTING_SOURCES: tuple[SettingSource, ...] = ("user", "project", "local")
_SYSTEM_PROMPT: SystemPromptPreset = {"type": "preset", "preset": "claude_code"}
_REASON_LIMIT = 300
_INTERRUPTED_REASONS = frozenset({"aborted_streaming", "aborted_tools", "interrupted"})


# options ---------------------------------------------------------------------------


def build_options(
    turn: TurnOptions,
    *,
    can_use_tool: CanUseTool | None = None,
    stderr: Callable[[str], None] | None = None,
    chat_server: McpSdkServerConfig | None = None,
) -> ClaudeAgentOptions:
    """``ClaudeAgentOptions`` for one connection: partial messages on, our entrypoint,
    a CLI that dies with this process (``child_guard``)."""
    env = {**turn.env, "CLAUDE_CODE_ENTRYPOINT": ENTRYPOINT, **parent_env()}
    env.pop("IS_SANDBOX", None)
    mode = effective_mode(turn.permission_mode, None, allow_bypass=turn.bypass_allowed).mode
    if mode == "bypassPermissions" and _is_root():
        # The CLI refuses to skip permissions as root unless told it is sandboxed;
        # the operator allowed bypass explicitly (BATON_ALLOW_BYPASS).
        env["IS_SANDBOX"] = "1"
    return ClaudeAgentOptions(
        cwd=turn.cwd,
        env=env,
        resume=turn.resume,
        session_id=turn.session_id,
        fork_session=turn.fork_session,
        model=turn.model,
        max_turns=turn.max_turns,
        max_budget_usd=turn.max_budget_usd,
        include_partial_messages=True,
        setting_sources=list(SETTING_SOURCES),
        system_prompt=_SYSTEM_PROMPT,
        can_use_tool=can_use_tool,
        stderr=stderr,
        permission_mode=mode if turn.permission_mode is not None else None,
        cli_path=_guarded(turn.cli_path),
        mcp_servers={SERVER_NAME: chat_server} if chat_server is not None else {},
        # Our own tool confines itself: pre-allowed (in the callback when there is one,
        # since an allowed_tools entry would shadow it).
        allowed_tools=[SEND_TO_CHAT_TOOL] if chat_server and can_use_tool is None else [],
    )


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _guarded(cli: str | None) -> Path | str | None:
    """The chosen CLI (None: the SDK's bundled one) behind the parent-death launcher."""
    target = Path(cli) if cli else bundled_cli().path
    return guarded_cli_path(target) or cli


# translation -----------------------------------------------------------------------


def translate(message: object, state: TranslationState) -> list[TurnEvent]:
    """Translate one SDK message into turn events; pure apart from ``state``.

    Text is emitted once: as deltas while it streams, and from the complete
    ``AssistantMessage`` only the part no delta carried (all of it when nothing
    streamed). Subagent traffic (``parent_tool_use_id`` set) is not the answer and is
    skipped.
    """
    if isinstance(message, SystemMessage):
        if message.subtype == "init":
            sid = message.data.get("session_id")
            if isinstance(sid, str) and sid:
                state.session_id = sid
        return []
    if isinstance(message, StreamEvent):
        if message.parent_tool_use_id is not None:
            return []
        return _stream_event(message.event, state)
    if isinstance(message, AssistantMessage):
        if message.parent_tool_use_id is not None:
            return []
        return _assistant(message, state)
    if isinstance(message, UserMessage):
        if message.parent_tool_use_id is not None or isinstance(message.content, str):
            return []
        return [_tool_finished(b, state) for b in message.content if isinstance(b, ToolResultBlock)]
    if isinstance(message, ResultMessage):
        finished = _finished(message, state)
        state.finished = finished
        return [finished]
    return []


def _stream_event(event: dict[str, Any], state: TranslationState) -> list[TurnEvent]:
    kind = event.get("type")
    if kind == "message_start":
        message = event.get("message")
        mid = message.get("id") if isinstance(message, dict) else None
        state.current_message_id = mid if isinstance(mid, str) else None
        return []
    mid = state.current_message_id
    index = event.get("index")
    if mid is None or not isinstance(index, int):
        return []
    if kind == "content_block_start":
        block = event.get("content_block")
        if isinstance(block, dict) and block.get("type") == "text":
            state.streamed.setdefault(mid, {})[index] = ""
        return []
    if kind == "content_block_delta":
        delta = event.get("delta")
        if not isinstance(delta, dict) or delta.get("type") != "text_delta":
            return []
        text = delta.get("text")
        if not isinstance(text, str) or not text:
            return []
        blocks = state.streamed.setdefault(mid, {})
        blocks[index] = blocks.get(index, "") + text
        return [TextDelta(text)]
    return []


def _assistant(message: AssistantMessage, state: TranslationState) -> list[TurnEvent]:
    if message.error is not None:
        # A synthetic message carrying an API failure: TurnFinished reports it.
        state.api_error = message.error
        state.api_error_text = "".join(
            b.text for b in message.content if isinstance(b, TextBlock)
        ).strip()
        return []
    events: list[TurnEvent] = []
    mid = message.message_id
    streamed = state.streamed.get(mid, {}) if mid else {}
    order = sorted(streamed)
    for block in message.content:
        if isinstance(block, TextBlock):
            already = ""
            if mid is not None:
                done = state.matched.get(mid, 0)
                if done < len(order):
                    already = streamed[order[done]]
                    state.matched[mid] = done + 1
            if block.text.startswith(already):
                rest = block.text[len(already) :]
                if rest:
                    events.append(TextDelta(rest))
        elif isinstance(block, ToolUseBlock):
            state.tool_names[block.id] = block.name
            events.append(
                ToolStarted(tool_use_id=block.id, name=block.name, input=dict(block.input))
            )
    return events


def _tool_finished(block: ToolResultBlock, state: TranslationState) -> ToolFinished:
    return ToolFinished(
        tool_use_id=block.tool_use_id,
        name=state.tool_names.get(block.tool_use_id, ""),
        is_error=bool(block.is_error),
        output=_content_text(block.content),
    )


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(item.get("text", ""))
            for item in content
            if isinstance(item, dict) and item.get("type") == "text"
        ]
        return "\n".join(parts)
    return str(content)


def outcome_of(result: ResultMessage, state: TranslationState) -> tuple[Outcome, str | None]:
    """How the turn ended, and a short reason when it did not succeed."""
    reason = result.terminal_reason
    if result.subtype == "error_max_turns" or reason == "max_turns":
        return "max_turns", _short(_result_reason(result) or "reached the maximum number of turns")
    if result.subtype == "error_max_budget_usd":
        return "budget_exceeded", _short(_result_reason(result) or "reached the budget")
    if reason in _INTERRUPTED_REASONS or (state.interrupt_requested and result.is_error):
        return "interrupted", None
    if (
        result.api_error_status is not None
        or reason == "api_error"
        or (result.is_error and state.api_error is not None)
    ):
        text = result.result or state.api_error_text or state.api_error or "API error"
        return "api_error", _short(text)
    if result.is_error:
        return "error", _short(_result_reason(result) or result.subtype)
    return "success", None


def _result_reason(result: ResultMessage) -> str:
    if result.errors:
        return "; ".join(e for e in result.errors if e)
    return result.result or ""


def _finished(result: ResultMessage, state: TranslationState) -> TurnFinished:
    outcome, error = outcome_of(result, state)
    usage = result.usage or {}
    return TurnFinished(
        outcome=outcome,
        session_id=result.session_id or state.session_id or "",
        result_text=(result.result or "") if outcome == "success" else "",
        cost_usd=float(result.total_cost_usd or 0.0),
        usage=Usage(
            input_tokens=_int(usage.get("input_tokens")),
            output_tokens=_int(usage.get("output_tokens")),
            cache_read_input_tokens=_int(usage.get("cache_read_input_tokens")),
            cache_creation_input_tokens=_int(usage.get("cache_creation_input_tokens")),
        ),
        duration_ms=int(result.duration_ms or 0),
        error=error,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _short(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= _REASON_LIMIT else line[: _REASON_LIMIT - 1] + "…"


# the live connection ---------------------------------------------------------------


def error_reason(exc: BaseException, stderr_tail: str = "") -> str:
    """One short line saying why, from what the CLI reported."""
    if isinstance(exc, ResultError):
        text = "; ".join(exc.errors) or exc.result or str(exc)
    elif isinstance(exc, ProcessError):
        text = stderr_tail or (exc.stderr or "") or str(exc)
    else:
        text = str(exc) or type(exc).__name__
    text = text.removeprefix("Claude Code returned an error result: ")
    return _short(text.replace(" (exit code: 1)", ""))


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

    @property
    def with_approvals(self) -> bool:
        return self.options.with_approvals

    def stderr_tail(self, lines: int = 5) -> str:
        return "\n".join(list(self._stderr)[-lines:])

    async def connect(self) -> None:
        """Start the CLI (and, when resuming, load the session); DoorError if it fails."""
        try:
            await self._client.connect()
        except Exception as exc:
            raise DoorError(error_reason(exc, self.stderr_tail())) from exc

    async def set_permission_mode(self, mode: PermissionMode) -> None:
        try:
            await self._client.set_permission_mode(mode)
        except Exception as exc:
            raise DoorError(error_reason(exc, self.stderr_tail())) from exc
        self.permission_mode = mode

    async def set_model(self, model: str | None) -> None:
        try:
            await self._client.set_model(model)
        except Exception as exc:
            raise DoorError(error_reason(exc, self.stderr_tail())) from exc
        self.model = model

    async def turn(
        self, prompt: str, state: TranslationState, images: Sequence[ImageInput] = ()
    ) -> AsyncGenerator[list[TurnEvent], None]:
        """Send ``prompt`` and yield the events of each SDK message, up to TurnFinished.

        Yields a (possibly empty) list per message so the caller can look at
        ``state`` (e.g. the session id from ``init``) as soon as it changes.
        """
        self._state = state
        self.turns += 1
        try:
            await self._client.query(user_message(prompt, images) if images else prompt)
            if self._stop_requested:  # interrupt() came before the prompt was out
                state.interrupt_requested = True
                await self._client.interrupt()
            async for message in self._client.receive_response():
                events = translate(message, state)
                if state.session_id:
                    self.session_id = state.session_id
                yield events
        except Exception as exc:
            raise DoorError(error_reason(exc, self.stderr_tail())) from exc
        finally:
            self._state = None
            self._stop_requested = False
        if state.finished is None:
            raise DoorError(self.stderr_tail(1) or "the Claude CLI stopped without a result")

    async def server_info(self) -> dict[str, Any] | None:
        """The CLI's initialize answer (commands, skills), kept since connect: no round trip."""
        try:
            return await self._client.get_server_info()
        except Exception as exc:
            raise DoorError(error_reason(exc, self.stderr_tail())) from exc

    async def context_usage(self) -> Mapping[str, Any]:
        """What ``/context`` shows, asked of the CLI."""
        try:
            return dict(await self._client.get_context_usage())
        except Exception as exc:
            raise DoorError(error_reason(exc, self.stderr_tail())) from exc

    async def interrupt(self) -> None:
        """Ask the CLI to stop the current (or imminent) turn; it still ends with a result."""
        self._stop_requested = True
        if self._state is None:
            return
        self._state.interrupt_requested = True
        try:
            await self._client.interrupt()
        except Exception as exc:
            raise DoorError(error_reason(exc, self.stderr_tail())) from exc

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
