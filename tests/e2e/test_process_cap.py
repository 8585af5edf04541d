"""A real cap on Claude processes (issue 10, finding 3): ``BATON_MAX_LIVE_CLIENTS``
bounds running plus idle CLI processes. A turn over the cap waits in line for a slot
(an idle process is closed first), and its chat is told. The real CLI against
FakeAnthropic; processes counted with psutil."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from chat_adapters.chat_services import ChatPolicy
from chat_adapters.dispatch import ChatDispatcher
from session_core.catalog import SessionCatalog
from session_core.claude_home import ClaudeHome
from session_core.history_lines import read_claude_history
from session_core.roots import ApprovedRoots
from session_core.runner import TurnRunner
from storage import ChatKey, Database
from tests.e2e.test_dispatch import ALICE, seen, shows, until
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.memory_surface import MemorySurface

FIRST, SECOND = ChatKey.of("telegram", 101), ChatKey.of("telegram", 102)


def claude_processes() -> int:
    """Live (not zombie) Claude CLI processes under this test process."""
    count = 0
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            argv = child.cmdline()
        except psutil.Error:
            continue
        if any(os.path.basename(part).startswith("claude") for part in argv[:2]):
            count += 1
    return count


@pytest.fixture
async def capped(
    claude_env: ClaudeEnv, claude_home: ClaudeHome, database: Database, tmp_path: Path
) -> AsyncIterator[ChatDispatcher]:
    runner = TurnRunner(
        claude_home,
        SessionCatalog(claude_home),
        base_env=claude_env.env,
        idle_timeout_s=60,
        max_live_clients=1,
    )
    chats = ChatDispatcher(
        runner=runner,
        catalog=SessionCatalog(claude_home),
        roots=ApprovedRoots((claude_env.project,)),
        database=database,
        policy=ChatPolicy(allowed_users=frozenset({("telegram", "1")})),
        inbox_dir=tmp_path / "inbox",
    )
    try:
        yield chats
    finally:
        await chats.aclose()
        await runner.aclose()


async def test_a_turn_over_the_cap_waits_is_told_and_runs(
    capped: ChatDispatcher, fake_api: FakeAnthropic
) -> None:
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, await asyncio.to_thread(claude_processes))
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    try:
        one, two = MemorySurface(), MemorySurface()
        await capped.on_command(one, FIRST, ALICE, "new", "")
        await capped.on_command(two, SECOND, ALICE, "new", "")
        await capped.on_text(one, FIRST, ALICE, "SLOW:10 first chat")
        await until(shows(one, "tick"), "the first turn streams")
        await capped.on_text(two, SECOND, ALICE, "second chat")
        await until(shows(two, "waiting for a free slot"), "the second chat is told")
        assert "FAKE-REPLY" not in seen(two)
        await until(shows(two, "to: second chat"), "the second turn runs")
        assert seen(one).count("tick") >= 10, "the first turn ran to its end"
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    assert peak == 1, f"{peak} Claude processes were alive at once under a cap of 1"


async def test_stop_takes_a_turn_out_of_the_line_for_a_slot(
    capped: ChatDispatcher, fake_api: FakeAnthropic
) -> None:
    one, two = MemorySurface(), MemorySurface()
    await capped.on_command(one, FIRST, ALICE, "new", "")
    await capped.on_command(two, SECOND, ALICE, "new", "")
    await capped.on_text(one, FIRST, ALICE, "SLOW:10 first chat")
    await until(shows(one, "tick"), "the first turn streams")
    await capped.on_text(two, SECOND, ALICE, "never sent")
    await until(shows(two, "waiting for a free slot"), "the second chat is told")
    await capped.on_command(two, SECOND, ALICE, "stop", "")
    assert "nothing was sent to Claude" in seen(two)
    await until(lambda: not capped.has_work(SECOND), "the second chat is free")
    await capped.on_text(two, SECOND, ALICE, "sent after all")
    await until(shows(two, "to: sent after all"), "the next prompt runs")
    assert "never sent" not in fake_api.prompts()


async def test_a_warm_start_never_waits_for_a_running_turns_slot(
    capped: ChatDispatcher, fake_api: FakeAnthropic, claude_env: ClaudeEnv
) -> None:
    """Under a cap of 1, ``/new`` in a second chat while the first chat's turn runs
    starts no spare, now or after that turn (it would have waited in line for the slot
    and then closed the first session's live CLI)."""
    one, two = MemorySurface(), MemorySurface()
    await capped.on_text(one, FIRST, ALICE, "SLOW:6 first chat")
    await until(shows(one, "tick"), "the first turn streams")
    await capped.on_command(two, SECOND, ALICE, "new", "")
    await until(shows(two, "next message starts"), "the second chat is told")
    await until(shows(one, "tick " * 6), "the first turn ran on")
    await asyncio.sleep(1.5)  # what a queued spare would need to start
    (first,) = read_claude_history(claude_env.config_dir / "history.jsonl")
    registered = [
        json.loads(entry.read_text())["sessionId"]
        for entry in (claude_env.config_dir / "sessions").glob("*.json")
    ]
    assert registered == [first.session_id], "only the first chat's CLI, kept for its follow-up"
    assert await asyncio.to_thread(claude_processes) == 1
