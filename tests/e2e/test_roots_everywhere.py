"""Nothing escapes the roots: every command that sets, shows or runs in a directory goes
through the one roots check, against a symlinked child of a root that points outside and
a chat whose saved directory and session predate a narrowed BATON_ROOTS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_adapters.chat_input import Sender
from chat_adapters.chat_services import ChatPolicy
from chat_adapters.dispatch import ChatDispatcher
from session_core.catalog import SessionCatalog
from session_core.claude_home import ClaudeHome
from session_core.events import TurnFinished
from session_core.roots import ApprovedRoots
from session_core.runner import TurnRunner
from storage import ChatKey, Database
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.memory_surface import MemorySurface
from tests.fakes.scripted_runner import ScriptedRunner, scripted_session

ALICE = Sender(app="telegram", user_id="1", display_name="alice")
CHAT = ChatKey.of("telegram", 100)
OUTSIDE_PROMPT = "plans kept OUTSIDE-THE-ROOTS"


@pytest.fixture
def world(claude_env: ClaudeEnv, claude_home: ClaudeHome, tmp_path: Path) -> tuple[Path, Path, str]:
    """(root, outside, id of a session made outside); ``root/escape`` links outside."""
    root = claude_env.project
    outside = (tmp_path / "outside").resolve()
    outside.mkdir()
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "inside").mkdir()
    sid = scripted_session(claude_home, outside, OUTSIDE_PROMPT)
    return root, outside, sid


@pytest.fixture
async def guarded(
    claude_env: ClaudeEnv, claude_home: ClaudeHome, database: Database, tmp_path: Path
) -> AsyncIterator[ChatDispatcher]:
    """Runner and dispatcher as ``baton run`` builds them: both hold the roots."""
    roots = ApprovedRoots((claude_env.project,))
    runner = TurnRunner(
        claude_home, SessionCatalog(claude_home), base_env=claude_env.env, roots=roots
    )
    chats = ChatDispatcher(
        runner=runner,
        catalog=SessionCatalog(claude_home),
        roots=roots,
        database=database,
        policy=ChatPolicy(allowed_users=frozenset({("telegram", "1")})),
        inbox_dir=tmp_path / "inbox",
    )
    try:
        yield chats
    finally:
        await chats.aclose()
        await runner.aclose()


async def settle(dispatcher: ChatDispatcher, surface: MemorySurface | None = None) -> None:
    """Until nothing runs, or until the chat is asked something (a picker waits)."""
    for _ in range(200):
        await asyncio.sleep(0.02)
        if dispatcher.settled() or (surface is not None and surface.pending_prompt is not None):
            return


def shown(surface: MemorySurface) -> str:
    parts = [m.display for m in surface.messages]
    parts += [o.label for p in surface.prompts for o in p.options]
    return "\n".join(parts)


async def command(
    dispatcher: ChatDispatcher, surface: MemorySurface, name: str, args: str = ""
) -> None:
    await dispatcher.on_command(surface, CHAT, ALICE, name, args)
    await settle(dispatcher, surface)


async def test_the_picker_never_offers_or_accepts_an_escaping_link(
    scripted: ChatDispatcher, world: tuple[Path, Path, str], database: Database
) -> None:
    guarded = scripted
    root, outside, _ = world
    surface = MemorySurface()
    await guarded.on_command(surface, CHAT, ALICE, "cd", "")
    await asyncio.sleep(0.1)
    labels = [o.label for o in surface.prompts[-1].options]
    assert not any("escape" in label for label in labels), labels
    assert any("inside" in label for label in labels)
    # Between showing and pressing, the listed child becomes a link outside.
    (root / "inside").rmdir()
    (root / "inside").symlink_to(outside, target_is_directory=True)
    surface.choose(next(label for label in labels if "inside" in label))
    await settle(guarded)
    assert "outside the approved roots" in shown(surface)
    assert (await database.preferences.get(CHAT)).directory in (None, str(root))

    await command(guarded, surface, "cd", "escape")
    assert shown(surface).count("outside the approved roots") == 2
    assert (await database.preferences.get(CHAT)).directory in (None, str(root))


@pytest.mark.parametrize("pinned", [False, True])
async def test_a_saved_directory_and_session_from_before_the_roots_narrowed_are_never_used(
    scripted: ChatDispatcher,
    scripted_runner: ScriptedRunner,
    world: tuple[Path, Path, str],
    database: Database,
    pinned: bool,
) -> None:
    guarded = scripted
    root, outside, sid = world
    await database.preferences.update(
        CHAT, directory=str(outside), pinned_session_id=sid if pinned else None
    )
    surface = MemorySurface()
    for name in ("status", "help", "history", "handoff", "sessions", "start"):
        await command(guarded, surface, name)
        if surface.pending_prompt is not None:
            surface.choose("Close")
            await settle(guarded)
    await command(guarded, surface, "resume", sid)
    await guarded.on_text(surface, CHAT, ALICE, "run in there")
    await settle(guarded)

    text = shown(surface)
    assert "OUTSIDE-THE-ROOTS" not in text and sid[:8] not in text, text
    assert f"`{outside}`" not in text.replace("outside the approved roots", "")
    assert f"Directory: `{root}`" in text
    assert "outside the approved roots" in text
    calls = scripted_runner.calls
    assert all(c.session_id != sid for c in calls), "never resumed outside the roots"
    assert all(c.directory == str(root) for c in calls), "never run outside the roots"
    if pinned:
        assert calls == [], "a pinned session outside the roots does not run"
    else:
        assert [c.prompt for c in calls] == ["run in there"]


async def test_the_runner_checks_again_at_turn_start(
    guarded: ChatDispatcher, world: tuple[Path, Path, str], fake_api: FakeAnthropic
) -> None:
    root, _, sid = world
    before = len(fake_api.messages_requests())
    events = [e async for e in guarded.runner.stream_turn("go", root / "escape", "telegram:1")] + [
        e async for e in guarded.runner.stream_turn("go", root, "telegram:1", session_id=sid)
    ]
    finished = [e for e in events if isinstance(e, TurnFinished)]
    assert [f.outcome for f in finished] == ["error", "error"]
    assert all("outside the approved roots" in (f.error or "") for f in finished)
    assert fake_api.messages_requests()[before:] == []
