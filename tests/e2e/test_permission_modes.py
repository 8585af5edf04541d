"""Issue 9, finding 2, end to end: a chat that chose bypass while the operator allowed
it runs its next turn in default mode after the operator restarts with bypass off (the
tool call is asked in the chat, the CLI is not started in bypass), and is told once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from chat_adapters.chat_services import ChatPolicy
from chat_adapters.dispatch import ChatDispatcher
from session_core.catalog import SessionCatalog
from session_core.claude_home import ClaudeHome
from session_core.roots import ApprovedRoots
from storage import Database
from tests.e2e.test_dispatch import ALICE, CHAT, seen, shows, until
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.memory_surface import MemorySurface

NOTICE = "This chat chose bypass, but BATON_ALLOW_BYPASS is off"


def cli_processes() -> Iterator[psutil.Process]:
    for child in psutil.Process().children(recursive=True):
        try:
            if "--input-format" in child.cmdline():
                yield child
        except psutil.Error:
            continue


async def test_a_stored_bypass_runs_as_default_once_bypass_is_switched_off(
    dispatcher: ChatDispatcher,
    database: Database,
    claude_env: ClaudeEnv,
    claude_home: ClaudeHome,
    fake_api: FakeAnthropic,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # This machine may itself say IS_SANDBOX: the bot's own start-up withholds it from
    # the CLI (finding 3); here the question is whether the runner adds it.
    monkeypatch.delenv("IS_SANDBOX", raising=False)
    # An earlier run allowed bypass, and the chat chose it.
    earlier = ChatDispatcher(
        runner=dispatcher.runner,
        catalog=SessionCatalog(claude_home),
        roots=ApprovedRoots((claude_env.project,)),
        database=database,
        policy=ChatPolicy(allowed_users=frozenset({("telegram", "1")}), allow_bypass=True),
        inbox_dir=tmp_path / "inbox-earlier",
    )
    surface = MemorySurface()
    await earlier.on_command(surface, CHAT, ALICE, "mode", "bypass")
    assert "Mode: bypassPermissions" in seen(surface)
    await earlier.aclose()

    # This run (the fixture's dispatcher) does not allow bypass.
    await dispatcher.on_command(surface, CHAT, ALICE, "status", "")
    assert "Mode: default (BATON_ALLOW_BYPASS is off)" in seen(surface)
    fake_api.script(
        Reply.tool_use("Bash", {"command": "touch made.txt", "description": "t"}),
        Reply(text="first done"),
    )
    await dispatcher.on_text(surface, CHAT, ALICE, "make a file")
    await until(lambda: surface.pending_prompt is not None, "the tool is asked in the chat")
    started = [p.cmdline() for p in cli_processes()]
    assert started, "the CLI is running"
    for argv in started:
        assert "bypassPermissions" not in argv
        assert argv[argv.index("--permission-mode") + 1] == "default"
    for process in cli_processes():
        assert "IS_SANDBOX" not in process.environ()
    surface.choose("Deny")
    await until(shows(surface, "first done"), "the first answer")
    assert not await asyncio.to_thread((claude_env.project / "made.txt").exists)

    fake_api.script(Reply(text="second done"))
    await dispatcher.on_text(surface, CHAT, ALICE, "and again")
    await until(shows(surface, "second done"), "the second answer")
    assert seen(surface).count(NOTICE) == 1, "said once"
