"""What does a turn through session_core cost on top of a bare SDK query?

Against FakeAnthropic (127.0.0.1, so the model answers in milliseconds and the figures
are the CLI's and ours), in one run, interleaved so drift hits all three alike:

- bare:      ``claude_agent_sdk.query`` with default options (spawns a CLI per turn),
             timed to its ResultMessage (the stricter baseline: the iterator itself
             ends only after the CLI exits, which is shown too);
- fresh:     ``TurnRunner.stream_turn(..., force_new=True)``: a new session, new CLI,
             history line, lock, live-client bookkeeping;
- follow-up: ``TurnRunner.stream_turn(..., session_id=<that session>)`` on its live
             client (no CLI start-up).

Goals (issue 3): fresh / bare <= 1.1 and follow-up / bare <= 0.5 (medians).
Run: ``uv run python benchmarks/turn_overhead.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import structlog
from claude_agent_sdk import ClaudeAgentOptions, ResultMessage, query

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from session_core.catalog import SessionCatalog
from session_core.claude_home import ClaudeHome
from session_core.events import TurnFinished
from session_core.runner import TurnRunner
from session_core.sdk_options import build_options
from session_core.sdk_values import TurnOptions
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv, isolated_claude_env
from tests.fakes.turns import collect

GOAL_FRESH = 1.1
GOAL_FOLLOW_UP = 0.5


async def bare_turn(
    world: ClaudeEnv, prompt: str, options: ClaudeAgentOptions | None = None
) -> tuple[float, float]:
    """(seconds to the ResultMessage, seconds until the query iterator is done)."""
    options = options or ClaudeAgentOptions(cwd=str(world.project), env=world.env)
    start = time.perf_counter()
    to_result = 0.0
    async for message in query(prompt=prompt, options=options):
        if isinstance(message, ResultMessage):
            to_result = time.perf_counter() - start
            assert not message.is_error, message
    return to_result, time.perf_counter() - start


async def runner_turn(
    runner: TurnRunner, world: ClaudeEnv, prompt: str, session_id: str | None
) -> tuple[float, str]:
    start = time.perf_counter()
    events = await collect(
        runner.stream_turn(
            prompt, world.project, "bench", session_id=session_id, force_new=session_id is None
        )
    )
    finished = events[-1]
    assert isinstance(finished, TurnFinished)
    elapsed = time.perf_counter() - start
    assert finished.outcome == "success", finished
    return elapsed, finished.session_id


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


async def main(runs: int) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    bare: list[float] = []
    bare_done: list[float] = []
    same_options: list[float] = []
    fresh: list[float] = []
    follow: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic() as fake:
        world = isolated_claude_env(Path(tmp), fake.url)
        home = ClaudeHome(world.config_dir)
        runner = TurnRunner(
            home,
            SessionCatalog(home),
            base_env=world.env,
            idle_timeout_s=600,
            max_live_clients=runs + 2,
        )
        try:
            await bare_turn(world, "warm-up")  # page cache, imports
            _, sid = await runner_turn(runner, world, "warm-up", None)
            await runner_turn(runner, world, "warm-up again", sid)
            for i in range(runs):
                to_result, done = await bare_turn(world, f"bare {i}")
                bare.append(to_result)
                bare_done.append(done)
                ours = build_options(TurnOptions(cwd=str(world.project), env=world.env))
                same_options.append((await bare_turn(world, f"same options {i}", ours))[0])
                took, sid = await runner_turn(runner, world, f"fresh {i}", None)
                fresh.append(took)
                took, _ = await runner_turn(runner, world, f"follow-up {i}", sid)
                follow.append(took)
        finally:
            await runner.aclose()

    m_bare, m_fresh, m_follow = (statistics.median(x) for x in (bare, fresh, follow))
    r_fresh, r_follow = m_fresh / m_bare, m_follow / m_bare
    print(f"turn overhead, median of {runs} runs each (FakeAnthropic on 127.0.0.1)")
    print(f"  bare claude_agent_sdk.query     {_ms(m_bare)}   (baseline: spawn to ResultMessage)")
    print(
        f"    ... until its iterator ends   {_ms(statistics.median(bare_done))}"
        "   (includes the CLI's exit)"
    )
    print(
        f"    ... with the runner's options {_ms(statistics.median(same_options))}"
        "   (Claude Code system prompt, settings, partial messages)"
    )
    print(
        f"  TurnRunner, fresh session       {_ms(m_fresh)}   ratio {r_fresh:.2f}"
        f"  (goal <= {GOAL_FRESH})  {'ok' if r_fresh <= GOAL_FRESH else 'MISSED'}"
    )
    print(
        f"  TurnRunner, follow-up, live CLI {_ms(m_follow)}   ratio {r_follow:.2f}"
        f"  (goal <= {GOAL_FOLLOW_UP})  {'ok' if r_follow <= GOAL_FOLLOW_UP else 'MISSED'}"
    )
    print("  all runs (ms):")
    rows = (
        ("bare", bare),
        ("bare done", bare_done),
        ("same opts", same_options),
        ("fresh", fresh),
        ("follow-up", follow),
    )
    for name, values in rows:
        print(f"    {name:10s} " + " ".join(f"{v * 1000:.0f}" for v in values))
    return 0 if r_fresh <= GOAL_FRESH and r_follow <= GOAL_FOLLOW_UP else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    raise SystemExit(asyncio.run(main(parser.parse_args().runs)))
