"""The turn contract (session_core/turn_source.py), checked against both sides of it:
the real TurnRunner (the real CLI against FakeAnthropic) and the ScriptedRunner the
command layer's tests use. A rule only the fake keeps would make those tests lie."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path

import pytest

from session_core.catalog import SessionCatalog
from session_core.claude_home import ClaudeHome
from session_core.events import TextDelta, TurnEvent, TurnFinished, TurnStarted, WaitingForSlot
from session_core.runner import TurnRunner
from session_core.turn_source import TurnSource
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.scripted_runner import Hold, ScriptedRunner, ScriptedTurn
from tests.fakes.turns import collect, finished, started

WAIT_S = 60.0


@dataclass
class Subject:
    runner: TurnSource
    directory: Path
    slow: Callable[[], str]
    """The prompt of a turn that streams until interrupted (scripting it if need be)."""


@pytest.fixture(params=["scripted", "real"])
async def subject(
    request: pytest.FixtureRequest, claude_env: ClaudeEnv, claude_home: ClaudeHome
) -> AsyncIterator[Subject]:
    project = claude_env.project
    if request.param == "real":
        real = TurnRunner(
            claude_home, SessionCatalog(claude_home), base_env=claude_env.env, idle_timeout_s=60
        )
        try:
            yield Subject(real, project, lambda: "SLOW:40 go")
        finally:
            await real.aclose()
        return
    scripted = ScriptedRunner(claude_home)

    def slow() -> str:
        scripted.script(ScriptedTurn((TextDelta("tick "), Hold())))
        return "go slowly"

    yield Subject(scripted, project, slow)


async def test_one_started_one_finished_last_and_a_stable_session(subject: Subject) -> None:
    runner = subject.runner
    busy_at_start: list[bool] = []
    events: list[TurnEvent] = []
    async with (
        asyncio.timeout(WAIT_S),
        aclosing(runner.stream_turn("hello", subject.directory, "contract")) as stream,
    ):
        async for event in stream:
            events.append(event)
            if isinstance(event, TurnStarted):
                busy_at_start.append(runner.busy(event.session_id))
    kinds = [type(e) for e in events]
    first = next(i for i, kind in enumerate(kinds) if kind is TurnStarted)
    assert all(kind is WaitingForSlot for kind in kinds[:first])
    assert kinds.count(TurnStarted) == 1 and kinds.count(TurnFinished) == 1
    assert kinds[-1] is TurnFinished
    sid = started(events[first:]).session_id
    assert sid and finished(events).session_id == sid and finished(events).ok
    assert busy_at_start == [True], "busy while the turn runs"
    assert not runner.busy(sid), "free once TurnFinished was yielded"

    again = await collect(runner.stream_turn("again", subject.directory, "contract", sid))
    assert (started(again).session_id, started(again).resumed) == (sid, True)
    assert finished(again).session_id == sid


async def test_interrupt_ends_a_running_turn_once(subject: Subject) -> None:
    runner = subject.runner
    assert await runner.interrupt("00000000-0000-4000-8000-000000000000") is False
    events: list[TurnEvent] = []
    sid, interrupted = "", False
    async with (
        asyncio.timeout(WAIT_S),
        aclosing(runner.stream_turn(subject.slow(), subject.directory, "contract")) as stream,
    ):
        async for event in stream:
            events.append(event)
            if isinstance(event, TurnStarted):
                sid = event.session_id
            if isinstance(event, TextDelta) and not interrupted:
                interrupted = True
                assert await runner.interrupt(sid) is True
    assert sum(isinstance(e, TurnFinished) for e in events) == 1
    assert finished(events).outcome == "interrupted"
    assert not runner.busy(sid)
    assert await runner.interrupt(sid) is False, "nothing runs there any more"


async def test_closing_early_frees_the_session(subject: Subject) -> None:
    runner = subject.runner
    sid = ""
    async with (
        asyncio.timeout(WAIT_S),
        aclosing(runner.stream_turn(subject.slow(), subject.directory, "contract")) as stream,
    ):
        async for event in stream:
            if isinstance(event, TurnStarted):
                sid = event.session_id
            if isinstance(event, TextDelta):
                break
    assert sid
    async with asyncio.timeout(WAIT_S):
        while runner.busy(sid):
            await asyncio.sleep(0.05)
    after = await collect(runner.stream_turn("next", subject.directory, "contract", sid))
    assert finished(after).session_id == sid
