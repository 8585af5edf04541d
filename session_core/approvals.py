"""The approval seam: Claude Code asks "may I run this tool?", a chat answers.

session_core only defines the question and the answer; whoever renders the choice
(a chat adapter, a CLI prompt, a test) implements ``Approver``. The runner installs
the SDK's ``can_use_tool`` callback only when an approver is given, so without one
Claude Code's own defaults apply (read-only tools run, mutating ones are denied).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

"""Claude Code's permission modes a chat may choose (``/mode``)."""


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """One tool call waiting for a yes or no."""

    session_id: str
    tool_name: str
    tool_input: Mapping[str, Any]
    tool_use_id: str | None = None
    reason: str | None = None
    """Why Claude Code asks (e.g. "Path is outside allowed working directories")."""
    title: str | None = None
    description: str | None = None
    plan: str = ""
    """ExitPlanMode's plan. Claude Code's permission callback gets an empty input for
    it; the streamed tool call carries the plan, and the session layer copies it here
    (see :class:`PlanNotes`), so whoever renders the question has it."""


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    """The answer. A denial's ``message`` is what the model is told."""

    allow: bool
    message: str = ""
    updated_input: Mapping[str, Any] | None = field(default=None)
    """Allow with a rewritten input (e.g. AskUserQuestion answers)."""
    interrupt: bool = False
    """Deny and stop the whole turn, not just this tool call."""

    @classmethod
    def allowed(cls, updated_input: Mapping[str, Any] | None = None) -> ApprovalDecision:
        return cls(allow=True, updated_input=updated_input)

    @classmethod
    def denied(cls, message: str, *, interrupt: bool = False) -> ApprovalDecision:
        return cls(allow=False, message=message, interrupt=interrupt)


class PlanNotes:
    """ExitPlanMode plans seen in one turn's tool calls, by ``tool_use_id``.

    The session layer notes every ExitPlanMode call it translates and completes the
    approval request for it: the plan of that call, else the newest plan noted.
    """

    def __init__(self) -> None:
        self._plans: dict[str, str] = {}

    def note(self, tool_use_id: str, name: str, tool_input: Mapping[str, Any]) -> None:
        if name == "ExitPlanMode":
            self._plans[tool_use_id] = str(tool_input.get("plan") or "")

    def complete(self, request: ApprovalRequest) -> ApprovalRequest:
        """``request`` with its plan, when it is an ExitPlanMode question."""
        if request.tool_name != "ExitPlanMode" or request.plan:
            return request
        plan = str(request.tool_input.get("plan") or "")
        if not plan and request.tool_use_id:
            plan = self._plans.get(request.tool_use_id, "")
        if not plan and self._plans:
            plan = list(self._plans.values())[-1]
        return replace(request, plan=plan)


class Approver(Protocol):
    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision: ...
