"""SDK messages to our turn events: the pure translator ``translate``.

``translate(message, state) -> list[TurnEvent]`` touches nothing but ``state``, so it is
tested against recorded SDK streams without a CLI. One of the three SDK-boundary
modules allowed to import ``claude_agent_sdk``.
"""

from __future__ import annotations

from typing import Any

from claude_agent_sdk import (
    AssistantMessage,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
)

from session_core.events import (
    Outcome,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnEvent,
    TurnFinished,
    Usage,
)
from session_core.sdk_values import TranslationState, short_reason

_INTERRUPTED_REASONS = frozenset({"aborted_streaming", "aborted_tools", "interrupted"})


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
        return "max_turns", short_reason(
            _result_reason(result) or "reached the maximum number of turns"
        )
    if result.subtype == "error_max_budget_usd":
        return "budget_exceeded", short_reason(_result_reason(result) or "reached the budget")
    if reason in _INTERRUPTED_REASONS or (state.interrupt_requested and result.is_error):
        return "interrupted", None
    if (
        result.api_error_status is not None
        or reason == "api_error"
        or (result.is_error and state.api_error is not None)
    ):
        text = result.result or state.api_error_text or state.api_error or "API error"
        return "api_error", short_reason(text)
    if result.is_error:
        return "error", short_reason(_result_reason(result) or result.subtype)
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
