"""Issue 9, finding 1, end to end: after "Allow mkdir for this session" the real CLI
runs the next plain ``mkdir`` without a prompt, but a chained command starting with the
same words is asked again (and offers no session button)."""

from __future__ import annotations

import asyncio

from chat_adapters.dispatch import ChatDispatcher
from tests.e2e.test_dispatch import ALICE, CHAT, seen, shows, until
from tests.fakes.anthropic import FakeAnthropic, Reply, tool_results
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.memory_surface import MemorySurface


def bash(command: str) -> Reply:
    return Reply.tool_use("Bash", {"command": command, "description": "make directories"})


async def test_a_session_rule_does_not_cover_a_chained_command(
    dispatcher: ChatDispatcher, claude_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    project = claude_env.project
    surface = MemorySurface()
    fake_api.script(bash("mkdir -p build"), Reply(text="first done"))
    await dispatcher.on_text(surface, CHAT, ALICE, "make build")
    await until(lambda: surface.pending_prompt is not None, "the first approval")
    first = surface.pending_prompt
    assert first is not None
    assert [o.label for o in first.options] == [
        "Allow once",
        "Allow mkdir for this session",
        "Deny",
    ]
    surface.choose("Allow mkdir for this session")
    await until(shows(surface, "first done"), "the first answer")
    assert await asyncio.to_thread((project / "build").is_dir)

    # The same program, plainly: the rule covers it, no new prompt.
    fake_api.script(bash("mkdir -p dist"), Reply(text="second done"))
    await dispatcher.on_text(surface, CHAT, ALICE, "make dist")
    await until(shows(surface, "second done"), "the second answer")
    assert len(surface.prompts) == 1
    assert await asyncio.to_thread((project / "dist").is_dir)

    # The same words, then something else: asked again, and only once at a time.
    fake_api.script(bash("mkdir -p out && touch pwned.txt"), Reply(text="third done"))
    await dispatcher.on_text(surface, CHAT, ALICE, "make out")
    await until(lambda: surface.pending_prompt is not None, "the chained command's approval")
    chained = surface.pending_prompt
    assert chained is not None and "touch pwned.txt" in chained.body
    assert [o.label for o in chained.options] == ["Allow once", "Deny"]
    surface.choose("Deny")
    await until(shows(surface, "third done"), "the third answer")
    assert not await asyncio.to_thread((project / "pwned.txt").exists)
    assert tool_results(fake_api.messages_requests()[-1])[-1].get("is_error") is True
    assert "Allow mkdir for this session" not in seen(surface).split("third done")[-1]


def write(path: str, content: str) -> Reply:
    return Reply.tool_use("Write", {"file_path": path, "content": content})


async def test_a_write_rule_stays_inside_the_session_directory(
    dispatcher: ChatDispatcher, claude_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    project = claude_env.project
    outside = project.parent / "outside.txt"
    surface = MemorySurface()
    fake_api.script(write(str(project / "notes.txt"), "inside"), Reply(text="wrote inside"))
    await dispatcher.on_text(surface, CHAT, ALICE, "write notes")
    await until(lambda: surface.pending_prompt is not None, "the first approval")
    first = surface.pending_prompt
    assert first is not None
    label = f"Allow Write in {project.name} for this session"
    assert label in [o.label for o in first.options]
    surface.choose(label)
    await until(shows(surface, "wrote inside"), "the first answer")

    fake_api.script(write(str(outside), "escaped"), Reply(text="outside answered"))
    await dispatcher.on_text(surface, CHAT, ALICE, "write outside")
    await until(lambda: surface.pending_prompt is not None, "the outside write is asked")
    asked = surface.pending_prompt
    assert asked is not None and str(outside) in asked.body
    assert [o.label for o in asked.options] == ["Allow once", "Deny"]
    surface.choose("Deny")
    await until(shows(surface, "outside answered"), "the second answer")
    assert not await asyncio.to_thread(outside.exists)


async def test_accept_edits_still_asks_for_a_write_outside(
    dispatcher: ChatDispatcher, claude_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    outside = claude_env.project.parent / "outside.txt"
    surface = MemorySurface()
    await dispatcher.on_command(surface, CHAT, ALICE, "mode", "acceptEdits")
    fake_api.script(write(str(outside), "escaped"), Reply(text="outside answered"))
    await dispatcher.on_text(surface, CHAT, ALICE, "write outside")
    await until(lambda: surface.pending_prompt is not None, "the outside write is asked")
    asked = surface.pending_prompt
    assert asked is not None
    assert [o.label for o in asked.options] == ["Allow once", "Deny"]
    surface.choose("Deny")
    await until(shows(surface, "outside answered"), "the answer")
    assert not await asyncio.to_thread(outside.exists)
