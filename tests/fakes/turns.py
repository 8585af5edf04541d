"""Small helpers to drive and read a turn's event stream in tests (every wait bounded)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing

from session_core.events import TextDelta, TurnEvent, TurnFinished, TurnStarted

TURN_TIMEOUT_S = 60.0


async def collect(
    events: AsyncGenerator[TurnEvent, None], timeout_s: float = TURN_TIMEOUT_S
) -> list[TurnEvent]:
    """Every event of one turn, checking the contract: started first, finished last, once."""
    out: list[TurnEvent] = []
    async with asyncio.timeout(timeout_s), aclosing(events) as stream:
        async for event in stream:
            out.append(event)
    assert out, "a turn yields at least TurnStarted and TurnFinished"
    assert isinstance(out[0], TurnStarted), out[0]
    assert isinstance(out[-1], TurnFinished), out[-1]
    assert sum(isinstance(e, TurnStarted) for e in out) == 1
    assert sum(isinstance(e, TurnFinished) for e in out) == 1
    return out


def started(events: list[TurnEvent]) -> TurnStarted:
    first = events[0]
    assert isinstance(first, TurnStarted)
    return first


def finished(events: list[TurnEvent]) -> TurnFinished:
    last = events[-1]
    assert isinstance(last, TurnFinished)
    return last


def text(events: list[TurnEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))
