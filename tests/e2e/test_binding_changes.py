"""Binding changes sent while a turn runs win (issue 10, finding 4): ``/new``,
``/resume`` and ``/cd`` apply after the running turn, and its bookkeeping never
writes over them. The shared command layer over the ScriptedRunner: a turn held open
until the change is made, and a pinned session that no longer resumes."""

from __future__ import annotations

from chat_adapters.dispatch import ChatDispatcher
from session_core.claude_home import ClaudeHome
from session_core.events import TextDelta
from storage import Database
from tests.e2e.test_dispatch import ALICE, CHAT, UNPACED, shows, until
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.memory_surface import MemorySurface
from tests.fakes.scripted_runner import Hold, ScriptedRunner, ScriptedTurn, scripted_session

GONE = "00000000-dead-4bad-beef-000000000000"
HELD = ScriptedTurn((TextDelta("tick "), Hold()))
HELD_FALLBACK = ScriptedTurn((TextDelta("tick "), Hold()), resume_failure="No conversation found")


async def test_new_sent_during_a_new_sessions_first_turn_is_kept(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner, database: Database
) -> None:
    surface = MemorySurface(UNPACED)
    await scripted.on_command(surface, CHAT, ALICE, "new", "")
    scripted_runner.script(HELD)
    await scripted.on_text(surface, CHAT, ALICE, "first")
    await until(shows(surface, "tick"), "the turn streams")
    await scripted.on_command(surface, CHAT, ALICE, "new", "")
    scripted_runner.release()
    await until(lambda: _after_turn_done(scripted), "the turn and its bookkeeping end")
    first = scripted_runner.started[0]
    prefs = await database.preferences.get(CHAT)
    assert prefs.force_new, "the /new sent during the turn was overwritten"

    await scripted.on_text(surface, CHAT, ALICE, "second")
    await until(shows(surface, "to: second"), "the next answer")
    assert scripted_runner.calls[-1].force_new, "the second message starts a new session"
    assert len(set(scripted_runner.started)) == 2 and first in scripted_runner.started


async def test_resume_sent_during_a_fallback_turn_is_kept(
    scripted: ChatDispatcher,
    scripted_runner: ScriptedRunner,
    claude_env: ClaudeEnv,
    claude_home: ClaudeHome,
    database: Database,
) -> None:
    older = scripted_session(claude_home, claude_env.project, "the older session")
    surface = MemorySurface(UNPACED)
    # Pinned to a session that no longer resumes: the turn falls back to a fresh one.
    await database.preferences.update(CHAT, pinned_session_id=GONE)
    scripted_runner.script(HELD_FALLBACK)
    await scripted.on_text(surface, CHAT, ALICE, "go")
    await until(shows(surface, "tick"), "the turn streams")
    assert "Could not resume session `00000000`" in "\n".join(m.display for m in surface.messages)
    await scripted.on_command(surface, CHAT, ALICE, "resume", older)
    scripted_runner.release()
    await until(lambda: _after_turn_done(scripted), "the turn and its bookkeeping end")
    prefs = await database.preferences.get(CHAT)
    assert prefs.pinned_session_id == older, "the /resume sent during the turn was overwritten"


async def test_cd_sent_during_a_fallback_turn_is_kept(
    scripted: ChatDispatcher,
    scripted_runner: ScriptedRunner,
    claude_env: ClaudeEnv,
    database: Database,
) -> None:
    (claude_env.project / "sub").mkdir()
    surface = MemorySurface(UNPACED)
    await database.preferences.update(CHAT, pinned_session_id=GONE)
    scripted_runner.script(HELD_FALLBACK)
    await scripted.on_text(surface, CHAT, ALICE, "go")
    await until(shows(surface, "tick"), "the turn streams")
    await scripted.on_command(surface, CHAT, ALICE, "cd", "sub")
    scripted_runner.release()
    await until(lambda: _after_turn_done(scripted), "the turn and its bookkeeping end")
    prefs = await database.preferences.get(CHAT)
    assert prefs.directory == str(claude_env.project / "sub")
    assert prefs.pinned_session_id is None, "the turn pinned its session over the /cd"


async def test_a_fallback_turn_pins_its_fresh_session_when_nothing_changed(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner, database: Database
) -> None:
    """The other side of the rule: without a change, the bookkeeping does move on."""
    surface = MemorySurface(UNPACED)
    await database.preferences.update(CHAT, pinned_session_id=GONE)
    scripted_runner.script(HELD_FALLBACK)
    await scripted.on_text(surface, CHAT, ALICE, "go")
    await until(shows(surface, "tick"), "the turn streams")
    scripted_runner.release()
    await until(lambda: _after_turn_done(scripted), "the turn and its bookkeeping end")
    prefs = await database.preferences.get(CHAT)
    assert prefs.pinned_session_id == scripted_runner.started[0] != GONE


def _after_turn_done(dispatcher: ChatDispatcher) -> bool:
    return dispatcher.lines.settled()
