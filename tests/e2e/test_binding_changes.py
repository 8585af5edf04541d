"""Binding changes sent while a turn runs win (issue 10, finding 4): ``/new``,
``/resume`` and ``/cd`` apply after the running turn, and its bookkeeping never
writes over them. The shared command layer, the real CLI, FakeAnthropic."""

from __future__ import annotations

from chat_adapters.dispatch import ChatDispatcher
from storage import Database
from tests.e2e.test_dispatch import ALICE, CHAT, shows, until
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv, terminal_session
from tests.fakes.memory_surface import MemorySurface

GONE = "00000000-dead-4bad-beef-000000000000"


async def test_new_sent_during_a_new_sessions_first_turn_is_kept(
    dispatcher: ChatDispatcher, database: Database, fake_api: FakeAnthropic
) -> None:
    surface = MemorySurface()
    await dispatcher.on_command(surface, CHAT, ALICE, "new", "")
    await dispatcher.on_text(surface, CHAT, ALICE, "SLOW:8 first")
    await until(shows(surface, "tick"), "the turn streams")
    await dispatcher.on_command(surface, CHAT, ALICE, "new", "")
    await until(lambda: _after_turn_done(dispatcher), "the turn and its bookkeeping end")
    first = _only(fake_api)
    prefs = await database.preferences.get(CHAT)
    assert prefs.force_new, "the /new sent during the turn was overwritten"

    await dispatcher.on_text(surface, CHAT, ALICE, "second")
    await until(shows(surface, "to: second"), "the next answer")
    sessions = {r.session_id for r in fake_api.messages_requests()}
    assert len(sessions) == 2 and first in sessions


async def test_resume_sent_during_a_fallback_turn_is_kept(
    dispatcher: ChatDispatcher,
    claude_env: ClaudeEnv,
    database: Database,
    fake_api: FakeAnthropic,
) -> None:
    older = terminal_session(claude_env, "the older session")
    surface = MemorySurface()
    # Pinned to a session that no longer resumes: the turn falls back to a fresh one.
    await database.preferences.update(CHAT, pinned_session_id=GONE)
    await dispatcher.on_text(surface, CHAT, ALICE, "SLOW:8 go")
    await until(shows(surface, "tick"), "the turn streams")
    await dispatcher.on_command(surface, CHAT, ALICE, "resume", older)
    await until(lambda: _after_turn_done(dispatcher), "the turn and its bookkeeping end")
    prefs = await database.preferences.get(CHAT)
    assert prefs.pinned_session_id == older, "the /resume sent during the turn was overwritten"


def _sessions(fake_api: FakeAnthropic) -> set[str]:
    return {r.session_id for r in fake_api.messages_requests() if r.session_id}


def _only(fake_api: FakeAnthropic) -> str:
    found = _sessions(fake_api)
    assert len(found) == 1, found
    return next(iter(found))


def _after_turn_done(dispatcher: ChatDispatcher) -> bool:
    return dispatcher.lines.settled()


async def test_cd_sent_during_a_fallback_turn_is_kept(
    dispatcher: ChatDispatcher, claude_env: ClaudeEnv, database: Database
) -> None:
    (claude_env.project / "sub").mkdir()
    surface = MemorySurface()
    await database.preferences.update(CHAT, pinned_session_id=GONE)
    await dispatcher.on_text(surface, CHAT, ALICE, "SLOW:8 go")
    await until(shows(surface, "tick"), "the turn streams")
    await dispatcher.on_command(surface, CHAT, ALICE, "cd", "sub")
    await until(lambda: _after_turn_done(dispatcher), "the turn and its bookkeeping end")
    prefs = await database.preferences.get(CHAT)
    assert prefs.directory == str(claude_env.project / "sub")
    assert prefs.pinned_session_id is None, "the turn pinned its session over the /cd"
