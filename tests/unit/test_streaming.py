"""StreamingReply: one live message, paced edits, nothing lost, finalized exactly once."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Iterable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_adapters.redaction import Redactor
from chat_adapters.reply_lines import DONE_LINE, outcome_line, tool_line
from chat_adapters.streaming import StreamingReply
from chat_adapters.surface import Capabilities, MessageRef, StopCallback
from chat_adapters.text_split import fence_closer
from session_core.events import (
    Outcome,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnEvent,
    TurnFinished,
    TurnStarted,
)
from tests.fakes.memory_surface import (
    TELEGRAM_LIKE,
    MemoryLiveReply,
    MemorySurface,
    VirtualClock,
)

PLAIN = Capabilities(max_message_length=500)  # cannot edit, no buttons
SMALL_EDITABLE = Capabilities(
    max_message_length=300, length_unit="characters", can_edit=True, min_edit_interval_s=1.0
)

_FENCE_LINE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*$", re.MULTILINE)


def visible(text: str) -> str:
    """Text minus code-fence lines and whitespace: what a split may not change."""
    return re.sub(r"\s+", "", _FENCE_LINE.sub("", text))


def started() -> TurnStarted:
    return TurnStarted(session_id="s1", working_directory="/w", resumed=True)


def finished(outcome: Outcome = "success", **fields: str) -> TurnFinished:
    return TurnFinished(outcome=outcome, session_id="s1", **fields)  # type: ignore[arg-type]


def deltas(text: str, size: int = 23) -> list[TurnEvent]:
    return [TextDelta(text[i : i + size]) for i in range(0, len(text), size)]


async def play(
    reply: StreamingReply,
    events: Iterable[TurnEvent],
    clock: VirtualClock,
    gap_s: float = 0.02,
) -> None:
    async with asyncio.timeout(30):
        for event in events:
            if isinstance(event, TurnFinished):
                await clock.run(reply.handle(event))
            else:
                await reply.handle(event)
            await clock.advance(gap_s)


def make(
    caps: Capabilities = TELEGRAM_LIKE, verbosity: int = 1
) -> tuple[MemorySurface, StreamingReply, VirtualClock]:
    clock = VirtualClock()
    surface = MemorySurface(caps, clock=clock)

    async def stop() -> None:
        pass

    reply = StreamingReply(
        surface, verbosity=verbosity, on_stop=stop, clock=clock, sleep=clock.sleep
    )
    return surface, reply, clock


def assert_reply_contract(surface: MemorySurface, reply: StreamingReply, model_text: str) -> None:
    caps = surface.capabilities
    # All model text, exactly once, in order (fence lines and whitespace aside).
    assert visible(surface.transcript("live")) == visible(model_text)
    assert reply.stats.delivered_ratio == 1.0, reply.stats
    # Every message fits; every live message was finalized exactly once.
    for message in surface.messages:
        assert caps.measure(message.display) <= caps.max_message_length
    assert all(live.finalized for live in surface.live_replies)
    assert not any(live.stop_visible for live in surface.live_replies)
    # Messages split mid-code close their fence; the next reopens it.
    for message in surface.messages[:-1]:
        assert fence_closer(message.text) == "", message.text
    # Pacing: at most one operation per min_edit_interval.
    times = [op.at for op in surface.operations]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= caps.min_edit_interval_s - 1e-9 for gap in gaps), gaps


# -- the scripted contract ------------------------------------------------------------


def ten_thousand_char_answer() -> str:
    intro = "\n\n".join(
        f"Paragraph {p}: " + " ".join(f"word{p}x{i}" for i in range(40)) for p in range(8)
    )
    code = "".join(f"    result_{i} = compute({i}, 'α😀')  # step {i}\n" for i in range(100))
    outro = "\n\n".join(
        f"After {p}: " + " ".join(f"tail{p}x{i}" for i in range(40)) for p in range(7)
    )
    text = f"{intro}\n\nHere is the code:\n\n```python\ndef main():\n{code}```\n\n{outro}\n"
    assert 9_500 <= len(text) <= 12_000
    return text


async def test_long_answer_with_tools_arrives_whole_paced_and_finalized_once() -> None:
    surface, reply, clock = make()
    answer = ten_thousand_char_answer()
    head, tail = answer[:1500], answer[1500:]
    events: list[TurnEvent] = [started(), *deltas(head)]
    events += [
        ToolStarted(tool_use_id="t1", name="Bash", input={"command": "pytest -q"}),
        ToolFinished(tool_use_id="t1", name="Bash", is_error=False, output="3 passed"),
    ]
    events += [*deltas(tail), finished()]
    await play(reply, events, clock)

    assert_reply_contract(surface, reply, answer)
    assert reply.finished
    assert len(surface.messages) >= 3, "10,000 characters need several Telegram messages"
    # The code block straddles a split: closed at the end of one message, reopened.
    split_code = [m for m in surface.messages if m.text.startswith("```python\n")]
    assert split_code, "a message should start by reopening the python fence"
    # Tool lines were shown live, and the final messages carry no status for success.
    assert any("✓ Bash" in line for m in surface.messages for line in m.status) is False
    assert reply.stats.updates >= 3
    assert reply.stats.messages == len(surface.messages)
    # Coalescing: far fewer operations than deltas.
    assert len(surface.operations) < len(events) / 5


async def test_three_turns_on_one_chat_each_keep_the_contract() -> None:
    """A long answer with tools, a turn interrupted inside a long code block past the
    limit, and an API error after some text: every turn's text arrives once, in order."""
    clock = VirtualClock()
    surface = MemorySurface(TELEGRAM_LIKE, clock=clock)
    code = "".join(f"line_{i} = {i} * 2\n" for i in range(400))
    scripts: list[tuple[list[TurnEvent], str, str]] = [
        (
            [
                started(),
                ToolStarted(tool_use_id="a", name="Grep", input={"pattern": "TODO"}),
                ToolFinished(tool_use_id="a", name="Grep", is_error=False, output="3 hits"),
                *deltas(ten_thousand_char_answer()),
                finished(),
            ],
            ten_thousand_char_answer(),
            "",
        ),
        (
            [started(), *deltas(f"Writing it:\n\n```python\n{code}"), finished("interrupted")],
            f"Writing it:\n\n```python\n{code}",
            "⏹ Interrupted",
        ),
        (
            [started(), *deltas("Let me think"), finished("api_error", error="overloaded")],
            "Let me think",
            "❌ API error: overloaded",
        ),
    ]
    for events, text, last_status in scripts:
        before = len(surface.messages)
        reply = StreamingReply(surface, clock=clock, sleep=clock.sleep)
        await play(reply, events, clock)
        mine = surface.messages[before:]
        assert visible("".join(m.text for m in mine)) == visible(text)
        assert mine[-1].status == ((last_status,) if last_status else ())
        assert reply.stats.delivered_ratio == 1.0
        for message in mine:
            assert TELEGRAM_LIKE.measure(message.display) <= TELEGRAM_LIKE.max_message_length
        await clock.advance(5)
    interrupted = [m for m in surface.messages if "line_" in m.text]
    assert len(interrupted) >= 2, "the interrupted code block spans messages"
    assert all(m.text.startswith(("Writing", "```python\n")) for m in interrupted)
    assert all(live.finalized for live in surface.live_replies)
    times = [op.at for op in surface.operations]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


async def test_interrupted_turn_keeps_its_text_and_says_so() -> None:
    surface, reply, clock = make()
    await play(
        reply, [started(), *deltas("Working on it, first I will"), finished("interrupted")], clock
    )
    assert len(surface.messages) == 1
    message = surface.messages[0]
    assert message.text == "Working on it, first I will"
    assert message.status == ("⏹ Interrupted",)
    assert_reply_contract(surface, reply, "Working on it, first I will")


async def test_api_error_without_text_shows_the_reason() -> None:
    surface, reply, clock = make()
    await play(reply, [started(), finished("api_error", error="529 overloaded\nretry")], clock)
    assert [m.display for m in surface.messages] == ["❌ API error: 529 overloaded retry"]
    assert reply.stats.produced_bytes == 0
    assert reply.stats.delivered_ratio == 1.0


async def test_result_text_is_used_only_when_nothing_streamed() -> None:
    surface, reply, clock = make()
    await play(reply, [started(), finished(result_text="The answer is 42.")], clock)
    assert surface.transcript() == "The answer is 42."
    assert reply.stats.produced_bytes == len("The answer is 42.")
    assert reply.stats.delivered_ratio == 1.0

    surface, reply, clock = make()
    await play(reply, [started(), TextDelta("Streamed."), finished(result_text="Streamed.")], clock)
    assert surface.transcript() == "Streamed."


async def test_success_with_no_text_says_done() -> None:
    surface, reply, clock = make()
    events: list[TurnEvent] = [
        started(),
        ToolStarted(tool_use_id="t1", name="Write", input={"file_path": "/w/a"}),
        ToolFinished(tool_use_id="t1", name="Write", is_error=False),
        finished(),
    ]
    await play(reply, events, clock)
    assert surface.messages[-1].display == DONE_LINE
    assert all(live.finalized for live in surface.live_replies)


async def test_text_blocks_around_a_tool_are_separated_but_not_counted() -> None:
    surface, reply, clock = make()
    events: list[TurnEvent] = [
        started(),
        TextDelta("Let me check."),
        ToolStarted(tool_use_id="t1", name="Read", input={"file_path": "a.py"}),
        ToolFinished(tool_use_id="t1", name="Read", is_error=False),
        TextDelta("It is fine."),
        finished(),
    ]
    await play(reply, events, clock)
    assert surface.transcript() == "Let me check.\n\nIt is fine."
    assert reply.stats.produced_bytes == len("Let me check.It is fine.")
    assert reply.stats.delivered_ratio == 1.0


@pytest.mark.parametrize(
    ("verbosity", "live_status"),
    [
        (0, []),
        (1, [("▸ Bash",), ("✗ Bash",)]),
        (2, [("▸ Bash: ls -la",), ("✗ Bash: ls -la → No such file",)]),
    ],
)
async def test_tool_lines_follow_verbosity(
    verbosity: int, live_status: list[tuple[str, ...]]
) -> None:
    surface, reply, clock = make(verbosity=verbosity)
    events: list[TurnEvent] = [
        started(),
        TextDelta("Looking around."),
        ToolStarted(tool_use_id="t1", name="Bash", input={"command": "ls -la"}),
    ]
    await play(reply, events, clock, gap_s=2.0)
    await play(
        reply,
        [ToolFinished(tool_use_id="t1", name="Bash", is_error=True, output="\nNo such file\n")],
        clock,
        gap_s=2.0,
    )
    shown = [step.status for step in surface.messages[0].history if step.status]
    assert shown == live_status
    await play(reply, [finished()], clock)
    assert surface.messages[-1].status == ()


async def test_surface_without_edits_gets_tool_batches_and_the_answer_at_the_end() -> None:
    surface, reply, clock = make(PLAIN)
    answer = " ".join(f"w{i}" for i in range(300))  # several PLAIN messages long
    events: list[TurnEvent] = [
        started(),
        ToolStarted(tool_use_id="t1", name="Grep", input={"pattern": "x"}),
        ToolFinished(tool_use_id="t1", name="Grep", is_error=False),
        *deltas(answer),
        finished(),
    ]
    await play(reply, events, clock)
    assert all(op.kind == "send" for op in surface.operations), "PLAIN cannot edit"
    assert surface.messages[0].text == "```\n✓ Grep\n```"
    assert visible(surface.transcript("live")) == visible(answer)
    assert len(surface.messages) >= 4
    assert reply.stats.delivered_ratio == 1.0
    assert reply.stats.updates == 0


async def test_many_tool_lines_without_edits_go_one_message_per_paced_call() -> None:
    surface, reply, clock = make(PLAIN, verbosity=2)
    events: list[TurnEvent] = [started()]
    for n in range(40):
        events.append(ToolStarted(tool_use_id=f"t{n}", name="Read", input={"file_path": f"/{n}"}))
        events.append(ToolFinished(tool_use_id=f"t{n}", name="Read", is_error=False))
    await play(reply, [*events, TextDelta("Read them all."), finished()], clock, gap_s=0)
    tool_messages = [m for m in surface.messages if m.kind == "text"]
    assert len(tool_messages) >= 3
    assert sum(m.text.count("✓ Read") for m in tool_messages) == 40
    assert_reply_contract(surface, reply, "Read them all.")


async def test_a_burst_of_deltas_is_coalesced_into_few_edits() -> None:
    surface, reply, clock = make()
    await reply.handle(started())
    for _ in range(1000):
        await reply.handle(TextDelta("x"))
    await clock.run(reply.handle(finished()))
    assert surface.transcript() == "x" * 1000
    assert len(surface.operations) <= 2


async def test_edits_are_paced_while_text_streams_steadily() -> None:
    surface, reply, clock = make()
    # 20 s of streaming, a delta every 0.1 s: about 20 operations, not 200.
    await play(reply, [started(), *[TextDelta(f"w{i} ") for i in range(200)]], clock, 0.1)
    await play(reply, [finished()], clock)
    assert 15 <= len(surface.operations) <= 23, len(surface.operations)
    assert_reply_contract(surface, reply, "".join(f"w{i} " for i in range(200)))


async def test_consume_finalizes_a_stream_that_breaks() -> None:
    surface, reply, _ = make()

    async def broken() -> AsyncIterator[TurnEvent]:
        yield started()
        yield TextDelta("Partial answer")
        raise ConnectionError("CLI died")

    with pytest.raises(ConnectionError):
        await reply.consume(broken())
    assert surface.messages[-1].text == "Partial answer"
    assert surface.messages[-1].status == ("❌ Failed: ConnectionError: CLI died",)
    assert all(live.finalized for live in surface.live_replies)


async def test_consume_finalizes_a_stream_without_turn_finished() -> None:
    surface, reply, _ = make()

    async def truncated() -> AsyncIterator[TurnEvent]:
        yield started()
        yield TextDelta("Half")

    result = await reply.consume(truncated())
    assert result.outcome == "error"
    assert surface.messages[-1].status == ("❌ Failed: the turn ended without a result",)


async def test_events_after_the_end_are_ignored() -> None:
    surface, reply, clock = make()
    await play(reply, [started(), TextDelta("Done."), finished()], clock)
    operations = len(surface.operations)
    await reply.handle(TextDelta("late"))
    await reply.handle(finished("error"))
    assert len(surface.operations) == operations
    assert surface.transcript() == "Done."


class FlakyLiveReply(MemoryLiveReply):
    async def update(self, text: str, status: Sequence[str] = ()) -> None:
        raise ConnectionError("network down")


class FlakySurface(MemorySurface):
    """Every live update fails; finalize works."""

    async def open_live_reply(self, *, on_stop: StopCallback | None = None) -> MemoryLiveReply:
        live = FlakyLiveReply(self, on_stop)
        self.live_replies.append(live)
        return live


async def test_a_failing_update_is_counted_not_fatal() -> None:
    clock = VirtualClock()
    surface = FlakySurface(TELEGRAM_LIKE, clock=clock)
    reply = StreamingReply(surface, clock=clock, sleep=clock.sleep)
    await play(reply, [started(), TextDelta("Hello there"), finished()], clock)
    assert reply.stats.failures == 1
    assert reply.stats.updates == 0
    assert surface.transcript() == "Hello there"  # the final message still went through
    assert reply.stats.delivered_ratio == 1.0


async def test_a_failing_finalize_shows_in_the_stats() -> None:
    class BrokenFinal(MemoryLiveReply):
        async def finalize(self, text: str, status: Sequence[str] = ()) -> MessageRef:
            raise ConnectionError("gone")

    class Surface(MemorySurface):
        async def open_live_reply(self, *, on_stop: StopCallback | None = None) -> MemoryLiveReply:
            return BrokenFinal(self, on_stop)

    clock = VirtualClock()
    reply = StreamingReply(Surface(TELEGRAM_LIKE, clock=clock), clock=clock, sleep=clock.sleep)
    await play(reply, [started(), TextDelta("Hello"), finished()], clock)
    assert reply.stats.failures == 1
    assert reply.stats.delivered_ratio == 0.0


async def test_a_surface_that_cannot_open_a_reply_does_not_hang_the_turn() -> None:
    class Closed(MemorySurface):
        async def open_live_reply(self, *, on_stop: StopCallback | None = None) -> MemoryLiveReply:
            raise ConnectionError("chat was deleted")

    clock = VirtualClock()
    reply = StreamingReply(Closed(TELEGRAM_LIKE, clock=clock), clock=clock, sleep=clock.sleep)
    await play(reply, [started(), TextDelta("Hello"), finished()], clock)
    assert reply.finished
    assert reply.stats.failures >= 1
    assert reply.stats.delivered_ratio == 0.0


def test_bad_verbosity_is_refused() -> None:
    with pytest.raises(ValueError, match="verbosity"):
        StreamingReply(MemorySurface(), verbosity=3)


def test_tool_lines_redact_inputs_outputs_and_known_secrets() -> None:
    redactor = Redactor.with_secrets(["hunter2-secret"])
    line = tool_line(
        "Bash",
        {"command": "login --password hunter2-secret"},
        2,
        state="ok",
        output="token=abcdef123456 ok",
        redactor=redactor,
    )
    assert "hunter2" not in line and "abcdef123456" not in line
    assert line.startswith("✓ Bash: login --password [REDACTED]")


def test_outcome_and_tool_lines() -> None:
    assert outcome_line(finished()) == ""
    assert outcome_line(finished("max_turns")) == "⚠️ Stopped: maximum number of turns reached"
    assert tool_line("Read", {"file_path": "/a"}, 1) == "▸ Read"
    assert tool_line("Read", {"file_path": "/a"}, 2, state="ok", output="12 lines") == (
        "✓ Read: /a → 12 lines"
    )


# -- property: any turn, any limits --------------------------------------------------

text_piece = st.one_of(
    st.text(alphabet="abc xyz.\n😀é", min_size=1, max_size=40),
    st.sampled_from(["\n```python\n", "\n```\n", "\n~~~\n", "\n\n", "`", "**"]),
)
tool_event = st.sampled_from(["tool"])
turn_script = st.lists(st.one_of(text_piece, tool_event), min_size=1, max_size=60)
caps_strategy = st.builds(
    Capabilities,
    max_message_length=st.integers(min_value=80, max_value=600),
    length_unit=st.sampled_from(["utf16", "characters"]),
    can_edit=st.booleans(),
    min_edit_interval_s=st.sampled_from([0.0, 0.5, 1.0]),
    button_data_limit_bytes=st.sampled_from([None, 64]),
)
outcomes = st.sampled_from(["success", "interrupted", "api_error", "max_turns", "error"])


@settings(max_examples=120, deadline=None)
@given(
    script=turn_script,
    caps=caps_strategy,
    verbosity=st.sampled_from([0, 1, 2]),
    outcome=outcomes,
    gap=st.sampled_from([0.0, 0.1, 0.7]),
)
def test_any_turn_is_delivered_whole(
    script: list[str], caps: Capabilities, verbosity: int, outcome: Outcome, gap: float
) -> None:
    async def run() -> None:
        surface, reply, clock = make(caps, verbosity)
        events: list[TurnEvent] = [started()]
        shown_text = ""  # the model's text, with a blank line where a tool split it
        after_tool = False
        for n, piece in enumerate(script):
            if piece == "tool":
                events.append(ToolStarted(tool_use_id=f"t{n}", name="Bash", input={"c": n}))
                events.append(ToolFinished(tool_use_id=f"t{n}", name="Bash", is_error=False))
                after_tool = True
            else:
                events.append(TextDelta(piece))
                if after_tool and shown_text and not shown_text.endswith("\n\n"):
                    shown_text += "\n" if shown_text.endswith("\n") else "\n\n"
                shown_text += piece
                after_tool = False
        events.append(finished(outcome, error="boom") if outcome != "success" else finished())
        await play(reply, events, clock, gap)
        assert_reply_contract(surface, reply, shown_text)
        assert surface.messages, "every turn shows something"

    asyncio.run(run())


async def test_a_withheld_first_word_costs_no_pacing_slot() -> None:
    """The redacting surface holds back an unfinished word (a secret may be arriving in
    pieces). A short answer whose first update showed nothing must still arrive at once
    when the turn ends, not a whole edit interval later."""
    from chat_adapters.redacting_surface import RedactedSurface

    clock = VirtualClock()
    memory = MemorySurface(TELEGRAM_LIKE, clock=clock)
    redactor = Redactor()
    surface = RedactedSurface(memory, redactor)
    reply = StreamingReply(surface, clock=clock, sleep=clock.sleep, redactor=redactor)
    began = clock()
    await play(reply, [started(), TextDelta("FAKE-RE"), finished()], clock, gap_s=0.01)
    (message,) = memory.messages
    assert message.text == "FAKE-RE"
    first = min(op.at for op in memory.operations)
    assert first - began < TELEGRAM_LIKE.min_edit_interval_s / 2, "held back a whole interval"
