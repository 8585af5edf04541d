"""Approvals as values: the plan of ExitPlanMode travels in the request, and every
prompt names who must answer as data (each surface renders its own mention)."""

from __future__ import annotations

import asyncio

from chat_adapters.approval_bridge import ChatApprover
from chat_adapters.approval_rules import SessionRules
from chat_adapters.choices import Notify
from chat_adapters.redaction import Redactor
from session_core.approvals import ApprovalRequest, PlanNotes
from tests.fakes.memory_surface import MemorySurface


def test_the_plan_of_an_exit_plan_mode_call_is_carried_into_its_request() -> None:
    notes = PlanNotes()
    notes.note("t1", "ExitPlanMode", {"plan": "1. read\n2. write"})
    notes.note("t2", "Bash", {"command": "ls"})
    request = ApprovalRequest("s", "ExitPlanMode", {}, tool_use_id="t1")
    assert notes.complete(request).plan == "1. read\n2. write"
    unknown = ApprovalRequest("s", "ExitPlanMode", {}, tool_use_id="t9")
    assert notes.complete(unknown).plan == "1. read\n2. write", "else the newest plan"
    given = ApprovalRequest("s", "ExitPlanMode", {}, plan="mine")
    assert notes.complete(given).plan == "mine"
    other = ApprovalRequest("s", "Bash", {"command": "ls"})
    assert notes.complete(other) is other


def approver(surface: MemorySurface) -> ChatApprover:
    return ChatApprover(
        surface=surface,
        directory="/work",
        rules=SessionRules(),
        redactor=Redactor(),
        timeout_s=60,
        asker_id="42",
        asker_name="Alice",
    )


async def test_prompts_name_the_asker_as_data_not_as_text() -> None:
    surface = MemorySurface()
    ask = approver(surface)
    decision = asyncio.create_task(ask(ApprovalRequest("s", "Bash", {"command": "rm -r x"})))
    async with asyncio.timeout(5):
        while surface.pending_prompt is None:
            await asyncio.sleep(0.01)
    prompt = surface.pending_prompt
    assert prompt.notify == Notify("42", "Alice")
    assert "Alice" not in prompt.body and "42" not in prompt.title
    surface.choose("Deny")
    assert not (await decision).allow


async def test_the_plan_prompt_shows_the_plan_from_the_request() -> None:
    surface = MemorySurface()
    ask = approver(surface)
    request = ApprovalRequest("s", "ExitPlanMode", {}, plan="Step one, step two")
    decision = asyncio.create_task(ask(request))
    async with asyncio.timeout(5):
        while surface.pending_prompt is None:
            await asyncio.sleep(0.01)
    assert "Step one, step two" in surface.pending_prompt.body
    surface.choose("Approve")
    assert (await decision).allow
