"""translate(): recorded SDK streams of the real CLI in, our turn events out.

Fixtures under tests/unit/fixtures/sdk_*.jsonl are raw CLI frames recorded against
FakeAnthropic (re-record with ``uv run python -m tests.fakes.sdk_streams``); the SDK
parses them through its public Transport seam exactly as it parses a live CLI.
"""

from __future__ import annotations

from typing import Any

import pytest
from claude_agent_sdk import AssistantMessage, Message, StreamEvent, TextBlock
from hypothesis import given
from hypothesis import strategies as st

from session_core.events import TextDelta, ToolFinished, ToolStarted, TurnEvent, TurnFinished
from session_core.sdk_events import translate
from session_core.sdk_values import TranslationState
from tests.fakes.sdk_streams import SCENARIOS, load_frames, replay


async def _events(frames: list[dict[str, Any]]) -> tuple[list[TurnEvent], TranslationState]:
    state = TranslationState()
    events: list[TurnEvent] = []
    for message in await replay(frames):
        events.extend(translate(message, state))
    return events, state


def _text(events: list[TurnEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def _init_session_id(frames: list[dict[str, Any]]) -> str:
    return str(next(f["session_id"] for f in frames if f.get("subtype") == "init"))


@pytest.mark.parametrize("name", [s[0] for s in SCENARIOS])
async def test_every_stream_ends_with_exactly_one_turn_finished(name: str) -> None:
    frames = load_frames(name)
    events, state = await _events(frames)
    finished = [e for e in events if isinstance(e, TurnFinished)]
    assert len(finished) == 1
    assert events[-1] is finished[0]
    assert finished[0].session_id == _init_session_id(frames) == state.session_id


async def test_streamed_text_is_emitted_once_as_deltas() -> None:
    events, _ = await _events(load_frames("text"))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1, "the fake streams the reply in several deltas"
    assert _text(events) == "FAKE-REPLY #1 to: hello"
    finished = events[-1]
    assert isinstance(finished, TurnFinished)
    assert finished.outcome == "success"
    assert finished.result_text == "FAKE-REPLY #1 to: hello"
    assert finished.cost_usd == pytest.approx(0.00014)
    assert (finished.usage.input_tokens, finished.usage.output_tokens) == (10, 5)
    assert finished.error is None


async def test_text_without_partial_messages_comes_from_the_full_message() -> None:
    frames = [f for f in load_frames("text") if f["type"] != "stream_event"]
    events, _ = await _events(frames)
    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta("FAKE-REPLY #1 to: hello")]


async def test_lost_deltas_are_made_up_from_the_full_message() -> None:
    frames = load_frames("text")
    last_delta = max(
        i
        for i, f in enumerate(frames)
        if f["type"] == "stream_event" and f["event"]["type"] == "content_block_delta"
    )
    events, _ = await _events(frames[:last_delta] + frames[last_delta + 1 :])
    assert _text(events) == "FAKE-REPLY #1 to: hello"


async def test_tool_call_starts_and_finishes_around_the_answer() -> None:
    events, _ = await _events(load_frames("tool"))
    kinds = [type(e) for e in events]
    assert kinds.index(ToolStarted) < kinds.index(ToolFinished) < kinds.index(TextDelta)
    started = next(e for e in events if isinstance(e, ToolStarted))
    done = next(e for e in events if isinstance(e, ToolFinished))
    assert (started.name, started.input) == ("Bash", {"command": "echo hi"})
    assert (done.tool_use_id, done.name, done.is_error, done.output) == (
        started.tool_use_id,
        "Bash",
        False,
        "hi",
    )
    assert _text(events) == "FAKE-REPLY #3 after tool: hi"


async def test_text_before_a_tool_in_one_message_keeps_its_order() -> None:
    events, _ = await _events(load_frames("text_and_tool"))
    summary = [
        e.text if isinstance(e, TextDelta) else type(e).__name__
        for e in events
        if not isinstance(e, TurnFinished)
    ]
    assert summary[:3] == ["Let me look. ", "ToolStarted", "ToolFinished"]
    assert _text(events) == "Let me look. FAKE-REPLY #5 after tool: hi"


async def test_denied_tool_is_an_error_result_not_a_failed_turn() -> None:
    events, _ = await _events(load_frames("denied"))
    done = next(e for e in events if isinstance(e, ToolFinished))
    assert done.is_error
    assert "needs approval" in done.output
    assert isinstance(events[-1], TurnFinished) and events[-1].outcome == "success"


async def test_interrupted_turn_keeps_its_partial_text_once() -> None:
    events, _ = await _events(load_frames("interrupt"))
    assert _text(events) == "tick tick tick "
    finished = events[-1]
    assert isinstance(finished, TurnFinished)
    assert finished.outcome == "interrupted"
    assert finished.error is None


async def test_api_error_is_reported_not_streamed_as_text() -> None:
    events, state = await _events(load_frames("api_error"))
    assert _text(events) == ""
    finished = events[-1]
    assert isinstance(finished, TurnFinished)
    assert finished.outcome == "api_error"
    assert finished.error is not None and finished.error.startswith("API Error: 500 fake 500")
    assert state.api_error == "server_error"


@pytest.mark.parametrize(
    ("name", "outcome", "reason"),
    [
        ("max_turns", "max_turns", "Reached maximum number of turns (1)"),
        ("budget", "budget_exceeded", "Reached maximum budget ($0.0001)"),
    ],
)
async def test_limits_have_their_own_outcomes(name: str, outcome: str, reason: str) -> None:
    events, _ = await _events(load_frames(name))
    finished = events[-1]
    assert isinstance(finished, TurnFinished)
    assert (finished.outcome, finished.error) == (outcome, reason)


async def test_subagent_traffic_is_not_the_answer() -> None:
    frames = load_frames("text")
    for frame in frames:
        if frame["type"] in ("stream_event", "assistant"):
            frame["parent_tool_use_id"] = "toolu_parent"
    events, _ = await _events(frames)
    assert _text(events) == ""


def _stream(message_id: str, pieces: list[str]) -> list[Message]:
    def event(body: dict[str, Any]) -> StreamEvent:
        return StreamEvent(uuid="u", session_id="s", event=body)

    messages: list[Message] = [
        event({"type": "message_start", "message": {"id": message_id}}),
        event({"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}),
    ]
    for piece in pieces:
        delta = {"type": "text_delta", "text": piece}
        messages.append(event({"type": "content_block_delta", "index": 0, "delta": delta}))
    return messages


@given(
    pieces=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=8),
    delivered=st.integers(min_value=0, max_value=8),
    tail=st.text(max_size=5),
)
def test_no_text_is_lost_or_doubled(pieces: list[str], delivered: int, tail: str) -> None:
    """Whatever prefix of the deltas arrived, the full message fills in the rest once."""
    full = "".join(pieces) + tail
    messages = _stream("msg_1", pieces[:delivered])
    messages.append(AssistantMessage(content=[TextBlock(text=full)], model="m", message_id="msg_1"))
    state = TranslationState()
    events = [e for m in messages for e in translate(m, state)]
    assert _text(events) == full
