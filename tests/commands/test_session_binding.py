"""Which session a chat talks to, through the shared command layer over the
ScriptedRunner: following the terminal's newest session, the picker, /cd, /handoff,
/status and a session moving from Telegram to Discord. The real-CLI seams of the same
flows are in tests/e2e/test_dispatch.py."""

from __future__ import annotations

import dataclasses

from chat_adapters.chat_input import Sender
from chat_adapters.dispatch import ChatDispatcher
from session_core.claude_home import ClaudeHome
from storage import ChatKey, Database
from tests.e2e.test_dispatch import ALICE, CHAT, UNPACED, seen, shows, until
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.memory_surface import MemorySurface
from tests.fakes.scripted_runner import ScriptedRunner, scripted_session


async def test_follows_the_terminal_session_and_says_so(
    scripted: ChatDispatcher,
    scripted_runner: ScriptedRunner,
    claude_env: ClaudeEnv,
    claude_home: ClaudeHome,
) -> None:
    sid = scripted_session(claude_home, claude_env.project, "refactor the parser")
    surface = MemorySurface(UNPACED)
    await scripted.on_text(surface, CHAT, ALICE, "and now the tests")
    await until(shows(surface, "SCRIPTED-REPLY to: and now the tests"), "the answer")
    assert "Continuing “refactor the parser”" in seen(surface)
    assert "in the terminal" in seen(surface)
    assert scripted_runner.calls[-1].session_id == sid, "the turn resumed that session"


async def test_sessions_picker_pins_and_previews(
    scripted: ChatDispatcher,
    scripted_runner: ScriptedRunner,
    claude_env: ClaudeEnv,
    claude_home: ClaudeHome,
) -> None:
    older = scripted_session(claude_home, claude_env.project, "older work")
    scripted_session(claude_home, claude_env.project, "newer work")
    surface = MemorySurface(UNPACED)
    await scripted.on_command(surface, CHAT, ALICE, "sessions", "")
    await until(lambda: surface.pending_prompt is not None, "the picker")
    prompt = surface.pending_prompt
    assert prompt is not None
    labels = [o.label for o in prompt.options]
    assert labels[0].startswith("newer work") and labels[1].startswith("older work")
    assert "➕ New session" in labels
    surface.choose(labels[1])
    await until(shows(surface, "Resumed session"), "resumed notice")
    assert older[:8] in seen(surface)
    assert "SCRIPTED-REPLY to: older work" in seen(surface)  # the preview

    await scripted.on_text(surface, CHAT, ALICE, "continue the older one")
    await until(shows(surface, "to: continue the older one"), "the answer")
    assert scripted_runner.calls[-1].session_id == older


async def test_cd_escape_and_unknown_command_are_explained(
    scripted: ChatDispatcher, claude_env: ClaudeEnv
) -> None:
    surface = MemorySurface(UNPACED)
    await scripted.on_command(surface, CHAT, ALICE, "cd", "../..")
    assert "outside the approved roots" in seen(surface)
    (claude_env.project / "sub dir").mkdir()
    await scripted.on_command(surface, CHAT, ALICE, "cd", "sub dir")
    assert f"`{claude_env.project / 'sub dir'}`" in seen(surface)
    await scripted.on_command(surface, CHAT, ALICE, "frobnicate", "")
    assert "Unknown command /frobnicate" in seen(surface)
    await scripted.on_command(surface, CHAT, ALICE, "ask", "hello")
    assert "Unknown command /ask" in seen(surface), "Telegram has no /ask"


async def test_handoff_and_status(
    scripted: ChatDispatcher, claude_env: ClaudeEnv, claude_home: ClaudeHome
) -> None:
    sid = scripted_session(claude_home, claude_env.project, "desk work")
    surface = MemorySurface(UNPACED)
    await scripted.on_command(surface, CHAT, ALICE, "handoff", "")
    assert f"cd {claude_env.project} && claude --resume {sid}" in seen(surface)
    await scripted.on_command(surface, CHAT, ALICE, "status", "")
    assert "State: idle" in seen(surface)
    assert sid[:8] in seen(surface)
    assert "Claude Code:" not in seen(surface)  # not told: not shown

    told = "2.1.330 (bundled): the claude on PATH (1.0.0) is older"
    scripted.policy = dataclasses.replace(scripted.policy, claude_code=told)
    await scripted.on_command(surface, CHAT, ALICE, "status", "")
    assert f"Claude Code: {told}" in seen(surface)


async def test_a_telegram_session_is_picked_up_in_discord_with_its_doors(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner, database: Database
) -> None:
    phone = MemorySurface(UNPACED)
    await scripted.on_text(phone, CHAT, ALICE, "begun in telegram")
    await until(shows(phone, "to: begun in telegram"), "telegram answer")
    await until(lambda: not scripted.has_work(CHAT), "the turn's bookkeeping")
    desk = MemorySurface(UNPACED, surface_id="memory:discord")
    bob = Sender(app="discord", user_id="2")
    scripted.policy = dataclasses.replace(
        scripted.policy, allowed_users=frozenset({("telegram", "1"), ("discord", "2")})
    )
    channel = ChatKey.of("discord", 555)
    await scripted.on_command(desk, channel, bob, "sessions", "")
    await until(lambda: desk.pending_prompt is not None, "picker")
    prompt = desk.pending_prompt
    assert prompt is not None and "used from Telegram" in prompt.body
    desk.choose(prompt.options[0].label)
    await until(shows(desk, "Resumed session"), "resumed")
    await scripted.on_text(desk, channel, bob, "continued in discord")
    await until(shows(desk, "to: continued in discord"), "discord answer")
    await until(lambda: not scripted.has_work(channel), "the turn's bookkeeping")
    first, second = scripted_runner.calls
    sid = second.session_id
    assert sid is not None and sid == scripted_runner.started[0] and first.session_id is None
    assert second.user_id == "discord:2"
    assert [d.door for d in await database.doors.doors(sid)] == ["discord", "telegram"]
