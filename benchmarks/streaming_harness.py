"""What the Telegram and Discord streaming benchmarks share, so both measure alike.

The world (a temp dir, FakeAnthropic, an isolated Claude home), the bot as ``baton run``
builds it, the baseline (a bare ``claude_agent_sdk.query`` to its first text delta), a
reply driven straight onto a surface for ``StreamingReply.stats``, and the lines both
print for first output and completeness. Each script keeps what is its app's own: how
a person writes and reads in that chat, and how pacing is judged there. The scripts put
the repository on ``sys.path`` before importing this module.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog
from claude_agent_sdk import ClaudeAgentOptions, StreamEvent, query

from chat_adapters.settings import Settings
from chat_adapters.streaming import StreamingReply
from chat_adapters.surface import Surface
from session_core.catalog import SessionCatalog
from session_core.claude_home import ClaudeHome
from session_core.runner import TurnRunner
from session_core.vocabulary import AppName
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.baton_app import RunningBaton, baton_settings
from tests.fakes.claude_cli import ClaudeEnv, isolated_claude_env

GOAL_FIRST_OUTPUT = 1.05  # issue 11 (was 1.2)
GOAL_EDITS_PER_S = 1.0
WAIT_S = 60.0
READING_S = 1.5
"""A person reads the bot's last message before writing the next one."""
SLOW_DELTAS, SLOW_DELAY_S = 40, 0.25


def quiet_logs(*libraries: str) -> None:
    """Only warnings from our code and the chat library, so the figures stay readable."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    for name in libraries:
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def claude_world() -> Iterator[tuple[ClaudeEnv, FakeAnthropic, Path]]:
    """(isolated Claude world, the FakeAnthropic it talks to, the bot's data dir)."""
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic() as fake:
        yield isolated_claude_env(Path(tmp) / "claude", fake.url), fake, Path(tmp) / "data"


@contextmanager
def cli_environment(world: ClaudeEnv) -> Iterator[None]:
    """The CLI env in this process: the SDK merges ``os.environ`` under the runner's."""
    saved = {name: os.environ.get(name) for name in world.env}
    os.environ.update(world.env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class ServedBot(RunningBaton):
    """The bot as ``baton run`` builds it, for ``apps``, ready when ``ready()`` is."""

    def __init__(
        self,
        world: ClaudeEnv,
        data_dir: Path,
        apps: tuple[AppName, ...],
        values: Mapping[str, object],
        ready: Callable[[], Awaitable[object]],
    ) -> None:
        settings: Settings = baton_settings(world, data_dir, values)
        super().__init__(settings, apps)
        self._ready = ready

    def until_ready(self) -> Awaitable[object]:
        return self._ready()


async def cli_first_token(world: ClaudeEnv, prompt: str) -> float:
    """Seconds from spawning a bare SDK query to its first text delta."""
    options = ClaudeAgentOptions(
        cwd=str(world.project), env=world.env, include_partial_messages=True
    )
    start = time.monotonic()
    first = 0.0
    async for message in query(prompt=prompt, options=options):
        if first == 0.0 and isinstance(message, StreamEvent):
            event: dict[str, Any] = message.event
            if event.get("type") == "content_block_delta" and event["delta"].get("text"):
                first = time.monotonic() - start
    assert first > 0, "the CLI streamed no text"
    return first


async def stats_ratio(
    surface: Surface, fake: FakeAnthropic, world: ClaudeEnv, reply: Reply
) -> float:
    """``StreamingReply.stats`` delivered/produced for ``reply`` driven straight onto
    ``surface`` from the runner's events (no chat in between to lose text)."""
    home = ClaudeHome(world.config_dir)
    runner = TurnRunner(home, SessionCatalog(home), base_env=world.env)
    try:
        fake.script(reply)
        streaming = StreamingReply(surface, verbosity=1)
        events = runner.stream_turn("write a lot", world.project, "bench", force_new=True)
        async with asyncio.timeout(2 * WAIT_S):
            await streaming.consume(events)
        return streaming.stats.delivered_ratio
    finally:
        await runner.aclose()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def print_first_output(title: str, cli: list[float], ours: list[float]) -> bool:
    """The title, the baseline and the new-session ratio; True if within the goal."""
    m_cli, m_ours = statistics.median(cli), statistics.median(ours)
    ratio = m_ours / m_cli
    ok = ratio <= GOAL_FIRST_OUTPUT
    print(title)
    print("1. first visible output")
    print(f"  CLI time to first token (bare SDK query)    {ms(m_cli)}   baseline")
    print(
        f"  message -> first bot message, new session   {ms(m_ours)}   ratio {ratio:.2f}"
        f"  (goal <= {GOAL_FIRST_OUTPUT})  {'ok' if ok else 'MISSED'}"
    )
    return ok


def print_ratio(label: str, values: list[float], cli: list[float]) -> None:
    """``label`` (padded as given), the median of ``values`` and its ratio to the CLI's."""
    median = statistics.median(values)
    print(f"  {label}{ms(median)}   ratio {median / statistics.median(cli):.2f}")


def print_all_runs(cli: list[float], ours: list[float]) -> None:
    print("  all runs (ms): cli " + " ".join(f"{v * 1000:.0f}" for v in cli))
    print("                 bot " + " ".join(f"{v * 1000:.0f}" for v in ours))


def print_completeness(slow: float, long: float, stats: float) -> bool:
    """Delivered/produced as the chat shows a slow and a long answer, and as
    ``StreamingReply.stats`` counts the long one; True if all are 1.0."""
    print("3. completeness")
    ok = True
    for name, value in (
        ("slow answer, as the chat shows it", slow),
        ("long answer, as the chat shows it", long),
        ("long answer, StreamingReply.stats", stats),
    ):
        ok = ok and value == 1.0
        print(f"  {name:36s} delivered/produced = {value:.3f}  (goal 1.0)")
    return ok


def run_script(main: Callable[[int], Coroutine[Any, Any, int]], doc: str, *, runs: int) -> int:
    """The script's command line: ``--runs N`` (default ``runs``), exit status of ``main``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--runs", type=int, default=runs)
    return asyncio.run(main(parser.parse_args().runs))
