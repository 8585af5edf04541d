"""Running turns with the real Claude CLI: live clients, interrupt, errors, limits, order."""

from __future__ import annotations

import asyncio
import contextlib
import json
from contextlib import aclosing
from pathlib import Path

from session_core.approvals import ApprovalDecision, ApprovalRequest
from session_core.catalog import SessionCatalog
from session_core.claude_home import ClaudeHome
from session_core.events import TextDelta, TurnEvent
from session_core.runner import TurnRunner
from tests.fakes.anthropic import FakeAnthropic, conversation_text, last_prompt
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.turns import TURN_TIMEOUT_S, collect, finished, started, text


def _live_pids(home: ClaudeHome) -> set[int]:
    """Claude processes registered under sessions/ (every CLI registers while it runs)."""
    return set(_registered(home))


def _live_sessions(home: ClaudeHome) -> set[str]:
    """Sessions a live Claude process holds now, as sessions/<pid>.json says."""
    return {sid for sid in _registered(home).values() if sid}


def _registered(home: ClaudeHome) -> dict[int, str | None]:
    registered: dict[int, str | None] = {}
    for path in home.sessions_dir.glob("*.json"):
        try:
            data = json.loads(path.read_text())
            registered[int(data["pid"])] = data.get("sessionId")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return registered


async def test_follow_up_reuses_the_live_client(
    claude_env: ClaudeEnv, claude_home: ClaudeHome, turn_runner: TurnRunner, fake_api: FakeAnthropic
) -> None:
    first = await collect(turn_runner.stream_turn("one", claude_env.project, "u1"))
    sid = started(first).session_id
    pids_after_first = _live_pids(claude_home)
    assert sid in _live_sessions(claude_home), "the CLI stays up for a follow-up"

    second = await collect(turn_runner.stream_turn("two", claude_env.project, "u1", session_id=sid))

    assert (started(second).session_id, started(second).resumed) == (sid, True)
    assert text(second) == "FAKE-REPLY #2 to: two"
    assert _live_pids(claude_home) == pids_after_first, "no new CLI process for a follow-up"
    assert "FAKE-REPLY #1 to: one" in conversation_text(fake_api.requests_for_session(sid)[-1])
    assert finished(second).cost_usd == finished(first).cost_usd, "cost is per turn"


async def test_interrupt_mid_stream_then_the_session_goes_on(
    claude_env: ClaudeEnv, turn_runner: TurnRunner, fake_api: FakeAnthropic
) -> None:
    events: list[TurnEvent] = []
    first_delta = asyncio.Event()

    async def run() -> None:
        stream = turn_runner.stream_turn("SLOW:40", claude_env.project, "u1")
        async with aclosing(stream) as turn:
            async for event in turn:
                events.append(event)
                if isinstance(event, TextDelta):
                    first_delta.set()

    task = asyncio.create_task(run())
    async with asyncio.timeout(TURN_TIMEOUT_S):
        await first_delta.wait()
        sid = started(events).session_id
        assert turn_runner.busy(sid)
        assert await turn_runner.interrupt(sid)
        await task

    assert finished(events).outcome == "interrupted"
    assert text(events).startswith("tick ")
    assert len(text(events)) < len("tick ") * 40
    assert not turn_runner.busy(sid)
    assert not await turn_runner.interrupt(sid), "nothing left to interrupt"

    after = await collect(
        turn_runner.stream_turn("after", claude_env.project, "u1", session_id=sid)
    )
    assert finished(after).outcome == "success"
    assert "tick" in conversation_text(fake_api.requests_for_session(sid)[-1])


async def test_api_error_is_reported_and_the_session_survives(
    claude_env: ClaudeEnv, turn_runner: TurnRunner
) -> None:
    failed = await collect(turn_runner.stream_turn("ERROR:500", claude_env.project, "u1"))
    sid = started(failed).session_id
    assert finished(failed).outcome == "api_error"
    assert "API Error: 500" in (finished(failed).error or "")

    again = await collect(
        turn_runner.stream_turn("retry", claude_env.project, "u1", session_id=sid)
    )
    assert (finished(again).outcome, finished(again).session_id) == ("success", sid)
    assert text(again).endswith("to: retry")


async def test_sessions_run_in_parallel_and_one_sessions_turns_in_order(
    claude_env: ClaudeEnv, turn_runner: TurnRunner, fake_api: FakeAnthropic
) -> None:
    a = started(await collect(turn_runner.stream_turn("a0", claude_env.project, "u1"))).session_id
    b = started(
        await collect(turn_runner.stream_turn("b0", claude_env.project, "u2", force_new=True))
    ).session_id
    fake_api.slow_delay_s = 0.1
    order: list[str] = []

    async def turn(sid: str, prompt: str) -> list[TurnEvent]:
        events = await collect(
            turn_runner.stream_turn(prompt, claude_env.project, "u", session_id=sid)
        )
        order.append(prompt)
        return events

    first_a = asyncio.create_task(turn(a, "SLOW:8 a1"))
    second_a = asyncio.create_task(turn(a, "a2"))
    third_a = asyncio.create_task(turn(a, "a3"))
    only_b = asyncio.create_task(turn(b, "SLOW:8 b1"))
    async with asyncio.timeout(TURN_TIMEOUT_S):
        while not turn_runner.busy(a):
            await asyncio.sleep(0.01)
        assert turn_runner.busy(a)
        results = await asyncio.gather(first_a, second_a, third_a, only_b)

    assert all(finished(r).outcome == "success" for r in results)
    assert order.index("SLOW:8 a1") < order.index("a2") < order.index("a3")
    a_prompts = [last_prompt(r) for r in fake_api.requests_for_session(a)]
    assert a_prompts == ["a0", "SLOW:8 a1", "a2", "a3"]
    starts = {last_prompt(r): r.received_at for r in fake_api.messages_requests()}
    a1_took = 8 * fake_api.slow_delay_s
    assert abs(starts["SLOW:8 b1"] - starts["SLOW:8 a1"]) < a1_took, "b ran alongside a"
    assert starts["a2"] - starts["SLOW:8 a1"] >= a1_took * 0.9, "a2 waited for a1"


async def test_max_turns_has_its_own_outcome(
    claude_env: ClaudeEnv, claude_home: ClaudeHome
) -> None:
    runner = TurnRunner(
        claude_home, SessionCatalog(claude_home), base_env=claude_env.env, max_turns=1
    )
    try:
        events = await collect(
            runner.stream_turn('TOOL:Bash {"command": "echo hi"}', claude_env.project, "u1")
        )
    finally:
        await runner.aclose()
    assert finished(events).outcome == "max_turns"
    assert finished(events).error == "Reached maximum number of turns (1)"


async def test_a_turn_nobody_reads_is_stopped_and_the_session_freed(
    claude_env: ClaudeEnv, claude_home: ClaudeHome, turn_runner: TurnRunner
) -> None:
    stream = turn_runner.stream_turn("SLOW:200", claude_env.project, "u1")
    async with asyncio.timeout(TURN_TIMEOUT_S):
        head = await anext(stream)
        sid = started([head]).session_id
        assert isinstance(await anext(stream), TextDelta)
        pids = _live_pids(claude_home)
        await stream.aclose()  # the chat went away mid-answer

    assert not turn_runner.busy(sid)
    assert sid in _live_sessions(claude_home), "the interrupted CLI settled and was kept"
    after = await collect(
        turn_runner.stream_turn("still there?", claude_env.project, "u1", session_id=sid)
    )
    assert finished(after).outcome == "success"
    assert _live_pids(claude_home) == pids


async def test_a_cancelled_consumer_frees_the_session(
    claude_env: ClaudeEnv, turn_runner: TurnRunner
) -> None:
    seen: list[TurnEvent] = []
    first_delta = asyncio.Event()

    async def consume() -> None:
        async for event in turn_runner.stream_turn("SLOW:200", claude_env.project, "u1"):
            seen.append(event)
            if isinstance(event, TextDelta):
                first_delta.set()

    task = asyncio.create_task(consume())
    async with asyncio.timeout(TURN_TIMEOUT_S):
        await first_delta.wait()
        sid = started(seen).session_id
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        while turn_runner.busy(sid):
            await asyncio.sleep(0.01)

    after = await collect(turn_runner.stream_turn("next", claude_env.project, "u1", session_id=sid))
    assert finished(after).outcome == "success"
    assert "tick" in text(seen)


async def test_approver_decides_on_mutating_tools(
    claude_env: ClaudeEnv, turn_runner: TurnRunner
) -> None:
    asked: list[ApprovalRequest] = []

    async def approve(request: ApprovalRequest) -> ApprovalDecision:
        asked.append(request)
        return ApprovalDecision.allowed()

    prompt = 'TOOL:Bash {"command": "touch approved.txt && echo made"}'
    events = await collect(
        turn_runner.stream_turn(prompt, claude_env.project, "u1", approver=approve)
    )

    assert finished(events).outcome == "success"
    assert [r.tool_name for r in asked] == ["Bash"]
    assert asked[0].session_id == started(events).session_id
    assert await asyncio.to_thread(Path(claude_env.project, "approved.txt").exists)
    assert text(events).endswith("after tool: made")
