"""A tool call asked in the chat, through the command layer over the ScriptedRunner:
what the prompt shows and what an unanswered prompt decides. That a decision reaches
the real CLI is checked in tests/e2e/test_dispatch.py."""

from __future__ import annotations

import dataclasses

from chat_adapters.dispatch import ChatDispatcher
from session_core.events import TextDelta
from tests.e2e.test_dispatch import ALICE, CHAT, UNPACED, seen, shows, until
from tests.fakes.memory_surface import MemorySurface
from tests.fakes.scripted_runner import Ask, ScriptedRunner, ScriptedTurn

TOUCH = {"command": "touch made.txt && echo made", "description": "t"}


async def test_an_unanswered_approval_is_a_denial_and_says_so(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner
) -> None:
    scripted.policy = dataclasses.replace(scripted.policy, approval_timeout_s=0.2)
    scripted_runner.script(ScriptedTurn((Ask("Bash", TOUCH), TextDelta("all done"))))
    surface = MemorySurface(UNPACED)
    await scripted.on_text(surface, CHAT, ALICE, "make a file")
    await until(lambda: bool(surface.prompts), "approval prompt")
    prompt = surface.prompts[0]
    assert prompt.title == "Allow Bash?" and "touch made.txt" in prompt.body
    await until(shows(surface, "all done"), "the final answer")
    assert "No answer in time" in seen(surface)
    [decision] = scripted_runner.decisions
    assert not decision.allow


async def test_an_answered_approval_is_what_the_runner_gets(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner
) -> None:
    scripted_runner.script(ScriptedTurn((Ask("Bash", TOUCH), TextDelta("all done"))))
    surface = MemorySurface(UNPACED)
    await scripted.on_text(surface, CHAT, ALICE, "make a file")
    await until(lambda: surface.pending_prompt is not None, "approval prompt")
    surface.choose("Allow once")
    await until(shows(surface, "all done"), "the final answer")
    [decision] = scripted_runner.decisions
    assert decision.allow
