"""What the settings commands say and change, and the notices around a turn, through
the command layer over the ScriptedRunner: /model, /verbose, /mode, /history, /stop
(nothing running, queued prompts, a turn waiting for a slot) and a session another
chat holds."""

from __future__ import annotations

import dataclasses

from chat_adapters.dispatch import ChatDispatcher
from session_core.claude_home import ClaudeHome
from session_core.events import TextDelta
from storage import ChatKey, Database
from tests.e2e.test_dispatch import ALICE, CHAT, UNPACED, seen, shows, until
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.memory_surface import MemorySurface
from tests.fakes.scripted_runner import Hold, ScriptedRunner, ScriptedTurn, scripted_session

HELD = ScriptedTurn((TextDelta("tick "), Hold()))


async def test_model_verbose_and_mode_show_set_and_reach_the_turn(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner, database: Database
) -> None:
    surface = MemorySurface(UNPACED)
    for name in ("model", "verbose", "mode"):
        await scripted.on_command(surface, CHAT, ALICE, name, "")
    text = seen(surface)
    assert "Model: Claude Code default. Set one with /model <name>" in text
    assert "Verbosity: 1. Use /verbose 0 (text only)" in text
    assert "Mode: default. Use /mode default | acceptEdits | plan | bypass." in text

    await scripted.on_command(surface, CHAT, ALICE, "model", "claude-opus-4-1 extra")
    await scripted.on_command(surface, CHAT, ALICE, "verbose", "0")
    await scripted.on_command(surface, CHAT, ALICE, "mode", "acceptEdits")
    await scripted.on_command(surface, CHAT, ALICE, "mode", "bypass")
    text = seen(surface)
    assert "Model: claude-opus-4-1" in text and "Verbosity: 0" in text
    assert "Mode: acceptEdits" in text
    assert "bypass is disabled here (BATON_ALLOW_BYPASS is off)." in text
    prefs = await database.preferences.get(CHAT)
    assert (prefs.model, prefs.verbosity, prefs.permission_mode) == (
        "claude-opus-4-1",
        0,
        "acceptEdits",
    )

    await scripted.on_text(surface, CHAT, ALICE, "go")
    await until(shows(surface, "SCRIPTED-REPLY to: go"), "the answer")
    call = scripted_runner.calls[-1]
    assert (call.model, call.permission_mode) == ("claude-opus-4-1", "acceptEdits")

    await scripted.on_command(surface, CHAT, ALICE, "model", "default")
    assert seen(surface).endswith("Model: Claude Code default")


async def test_bypass_is_taken_when_the_operator_allows_it(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner
) -> None:
    scripted.policy = dataclasses.replace(scripted.policy, allow_bypass=True)
    surface = MemorySurface(UNPACED)
    await scripted.on_command(surface, CHAT, ALICE, "mode", "bypass")
    assert "Mode: bypassPermissions" in seen(surface)
    await scripted.on_text(surface, CHAT, ALICE, "go")
    await until(shows(surface, "SCRIPTED-REPLY to: go"), "the answer")
    assert scripted_runner.calls[-1].permission_mode == "bypassPermissions"


async def test_history_shows_the_sessions_recent_turns(
    scripted: ChatDispatcher, claude_env: ClaudeEnv, claude_home: ClaudeHome
) -> None:
    surface = MemorySurface(UNPACED)
    await scripted.on_command(surface, CHAT, ALICE, "history", "")
    assert "No session yet: send a message to start one." in seen(surface)
    sid = scripted_session(claude_home, claude_env.project, "the parser work")
    await scripted.on_command(surface, CHAT, ALICE, "history", "2")
    text = seen(surface)
    assert f"**Session** `{sid[:8]}`" in text
    assert "**You:** the parser work" in text
    assert "**Claude:** SCRIPTED-REPLY to: the parser work" in text


async def test_stop_with_nothing_running_and_with_queued_prompts(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner
) -> None:
    surface = MemorySurface(UNPACED)
    await scripted.on_command(surface, CHAT, ALICE, "stop", "")
    assert "Nothing is running." in seen(surface)
    scripted_runner.script(HELD)
    await scripted.on_text(surface, CHAT, ALICE, "first")
    await scripted.on_text(surface, CHAT, ALICE, "second")
    await scripted.on_text(surface, CHAT, ALICE, "third")
    await until(shows(surface, "tick"), "the first turn streams")
    await scripted.on_command(surface, CHAT, ALICE, "stop", "")
    assert "⏹ Stopping the running turn and dropped 2 queued messages." in seen(surface)
    await until(lambda: not scripted.has_work(CHAT), "the line is done")
    assert [c.prompt for c in scripted_runner.calls] == ["first"]


async def test_stop_takes_a_turn_waiting_for_a_slot_out_of_the_line(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner
) -> None:
    scripted_runner.script(ScriptedTurn(waiting=2))
    surface = MemorySurface(UNPACED)
    await scripted.on_text(surface, CHAT, ALICE, "later")
    await until(shows(surface, "waiting for a free slot (2 ahead)"), "the waiting notice")
    await scripted.on_command(surface, CHAT, ALICE, "stop", "")
    assert "Stopped the message waiting for a free slot: nothing was sent to Claude." in seen(
        surface
    )
    await until(lambda: not scripted.has_work(CHAT), "the line is done")
    assert scripted_runner.started == []


async def test_a_session_another_chat_holds_is_waited_for_and_said(
    scripted: ChatDispatcher,
    scripted_runner: ScriptedRunner,
    claude_env: ClaudeEnv,
    claude_home: ClaudeHome,
) -> None:
    sid = scripted_session(claude_home, claude_env.project, "shared work")
    phone, tablet = MemorySurface(UNPACED), MemorySurface(UNPACED, surface_id="memory:2")
    other = ChatKey.of("telegram", 200)
    scripted_runner.script(HELD)
    await scripted.on_text(phone, CHAT, ALICE, "from the phone")
    await until(shows(phone, "tick"), "the phone's turn streams")
    await scripted.on_text(tablet, other, ALICE, "from the tablet")
    await until(shows(tablet, "is busy"), "the busy notice")
    assert f"⏳ Session `{sid[:8]}` is busy (held from Telegram)" in seen(tablet)
    scripted_runner.release()
    await until(shows(tablet, "SCRIPTED-REPLY to: from the tablet"), "the tablet's answer")
    assert [c.session_id for c in scripted_runner.calls] == [sid, sid]
