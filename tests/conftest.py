"""Shared fixtures: a fake Anthropic API and an isolated Claude Code world per test, the
runner and the shared command layer over it, the bot's database, and the fake Bot API
the Telegram and two-app suites share."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv, isolated_claude_env

if TYPE_CHECKING:
    from chat_adapters.dispatch import ChatDispatcher
    from session_core.claude_home import ClaudeHome
    from session_core.runner import TurnRunner
    from storage import Database
    from tests.fakes.scripted_runner import ScriptedRunner
    from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """The bot removes its own variables from ``os.environ`` when it starts (issue 9);
    in-process bots must not change the environment of later tests."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(log_path=tmp_path / "requests.jsonl") as fake:
        yield fake


@pytest.fixture
def claude_env(
    tmp_path: Path, fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> ClaudeEnv:
    """Isolated CLAUDE_CONFIG_DIR, HOME and CLAUDE_CODE_TMPDIR, pointed at ``fake_api``.

    CLAUDE_CONFIG_DIR is also set in this process: the SDK's session helpers read it
    from ``os.environ``, not from the options' env.
    """
    world = isolated_claude_env(tmp_path / "claude", fake_api.url)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(world.config_dir))
    return world


@pytest.fixture
def cli_env(claude_env: ClaudeEnv, monkeypatch: pytest.MonkeyPatch) -> ClaudeEnv:
    """``claude_env`` with the CLI env in this process too, for the whole bot: the
    composition root passes only CLAUDE_CONFIG_DIR to the runner, and the SDK merges
    ``os.environ`` under it."""
    for name, value in claude_env.env.items():
        monkeypatch.setenv(name, value)
    return claude_env


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API on 127.0.0.1."""
    from tests.fakes.telegram_api import FakeTelegram

    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def claude_home(claude_env: ClaudeEnv) -> ClaudeHome:
    from session_core.claude_home import ClaudeHome

    return ClaudeHome.resolve(str(claude_env.config_dir), claude_env.home)


@pytest.fixture
async def turn_runner(claude_env: ClaudeEnv, claude_home: ClaudeHome) -> AsyncIterator[TurnRunner]:
    """A TurnRunner over the isolated world, closed (CLIs stopped) after the test."""
    from session_core.catalog import SessionCatalog
    from session_core.runner import TurnRunner

    runner = TurnRunner(
        claude_home, SessionCatalog(claude_home), base_env=claude_env.env, idle_timeout_s=60
    )
    try:
        yield runner
    finally:
        await runner.aclose()


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """The bot's database under the test's tmp dir, closed after the test."""
    from storage import Database

    async with Database.open(tmp_path / "data" / "baton.sqlite3") as db:
        yield db


@pytest.fixture
async def dispatcher(
    claude_env: ClaudeEnv,
    claude_home: ClaudeHome,
    database: Database,
    turn_runner: TurnRunner,
    tmp_path: Path,
) -> AsyncIterator[ChatDispatcher]:
    """The shared command layer over the isolated world, Telegram user "1" allowed,
    approvals answered within 30 s; closed before the runner and the database."""
    from chat_adapters.chat_services import ChatPolicy
    from chat_adapters.dispatch import ChatDispatcher
    from session_core.catalog import SessionCatalog
    from session_core.roots import ApprovedRoots

    chats = ChatDispatcher(
        runner=turn_runner,
        catalog=SessionCatalog(claude_home),
        roots=ApprovedRoots((claude_env.project,)),
        database=database,
        policy=ChatPolicy(allowed_users=frozenset({("telegram", "1")}), approval_timeout_s=30),
        inbox_dir=tmp_path / "inbox",
    )
    try:
        yield chats
    finally:
        await chats.aclose()


@pytest.fixture
def scripted_runner(claude_home: ClaudeHome) -> ScriptedRunner:
    """A TurnSource that plays scripted turns and writes them where the catalog looks."""
    from tests.fakes.scripted_runner import ScriptedRunner

    return ScriptedRunner(claude_home)


@pytest.fixture
async def scripted(
    claude_env: ClaudeEnv,
    claude_home: ClaudeHome,
    database: Database,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
) -> AsyncIterator[ChatDispatcher]:
    """``dispatcher`` over the ScriptedRunner: the command layer in milliseconds."""
    from chat_adapters.chat_services import ChatPolicy
    from chat_adapters.dispatch import ChatDispatcher
    from session_core.catalog import SessionCatalog
    from session_core.roots import ApprovedRoots

    chats = ChatDispatcher(
        runner=scripted_runner,
        catalog=SessionCatalog(claude_home),
        roots=ApprovedRoots((claude_env.project,)),
        database=database,
        policy=ChatPolicy(allowed_users=frozenset({("telegram", "1")}), approval_timeout_s=30),
        inbox_dir=tmp_path / "inbox",
    )
    try:
        yield chats
    finally:
        await chats.aclose()
