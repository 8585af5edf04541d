"""Claude Code's permission callback, answered from a chat.

Tool approvals, AskUserQuestion and ExitPlanMode all arrive as ``can_use_tool`` calls;
each becomes one :class:`ChoicePrompt` on the chat's surface. "Allow for this session"
is remembered per session (see :mod:`chat_adapters.approval_rules` for what a rule
covers, checked again at every use), so the next matching call runs without asking.
Anything unanswered is denied: an unattended phone fails closed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

import structlog

from chat_adapters.approval_rules import SessionRule, SessionRules, session_rule_for
from chat_adapters.choices import (
    ALLOW_ONCE,
    ALLOW_SESSION,
    APPROVE_PLAN,
    SKIP_QUESTION,
    ChoicePrompt,
    Notify,
    ask_user_question_prompts,
    plan_approval_prompt,
    tool_approval_prompt,
)
from chat_adapters.diff_view import change_preview
from chat_adapters.redaction import Redactor
from chat_adapters.surface import Surface
from session_core.approvals import ApprovalDecision, ApprovalRequest

log = structlog.get_logger(__name__)


@dataclass
class ChatApprover:
    """An ``Approver`` for one turn on one surface."""

    surface: Surface
    directory: str
    rules: SessionRules
    redactor: Redactor
    timeout_s: float
    asker_id: str | None = None
    """Who asked for the turn: every prompt names them (``ChoicePrompt.notify``) and
    each surface mentions them its own way, so their phone notifies."""
    asker_name: str = ""

    def _notifying(self, prompt: ChoicePrompt) -> ChoicePrompt:
        if self.asker_id is None:
            return prompt
        return replace(prompt, notify=Notify(self.asker_id, self.asker_name))

    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        try:
            if request.tool_name == "AskUserQuestion":
                return await self._questions(request)
            if request.tool_name == "ExitPlanMode":
                return await self._plan(request)
            return await self._tool(request)
        except Exception:
            log.exception("approval_failed", tool=request.tool_name)
            return ApprovalDecision.denied("The approval could not be shown in the chat.")

    async def _tool(self, request: ApprovalRequest) -> ApprovalDecision:
        if self.rules.allows(request.session_id, request.tool_name, request.tool_input):
            return ApprovalDecision.allowed()
        rule = session_rule_for(request.tool_name, request.tool_input, self.directory)
        prompt = tool_approval_prompt(
            request.tool_name,
            request.tool_input,
            directory=self.directory,
            reason=request.reason,
            session_scope=_scope_label(rule),
            offer_session=rule is not None,
            timeout_s=self.timeout_s,
            redact=self.redactor,
        )
        preview = change_preview(request.tool_name, request.tool_input, self.redactor)
        if preview:
            prompt = replace(prompt, body=f"{prompt.body}\nChange:\n```diff\n{preview}\n```")
        answer = await self.surface.ask_choice(self._notifying(prompt))
        if answer.timed_out:
            return ApprovalDecision.denied("No answer from the chat in time; the tool was denied.")
        if answer.choice_id == ALLOW_ONCE:
            return ApprovalDecision.allowed()
        if answer.choice_id == ALLOW_SESSION and rule is not None:
            self.rules.add(request.session_id, rule)
            return ApprovalDecision.allowed()
        return ApprovalDecision.denied("The user denied this tool call from the chat.")

    async def _questions(self, request: ApprovalRequest) -> ApprovalDecision:
        answers: dict[str, str] = {}
        raw = request.tool_input.get("questions")
        questions = raw if isinstance(raw, list) else []
        for item, prompt in zip(
            questions,
            ask_user_question_prompts(request.tool_input, timeout_s=self.timeout_s),
            strict=False,
        ):
            answer = await self.surface.ask_choice(self._notifying(prompt))
            question = str(item.get("question", "")) if isinstance(item, Mapping) else ""
            if answer.text is not None:
                answers[question] = answer.text
            elif answer.choice_id and answer.choice_id != SKIP_QUESTION:
                index = int(answer.choice_id) - 1
                options = item.get("options", []) if isinstance(item, Mapping) else []
                option = options[index] if 0 <= index < len(options) else {}
                label = option.get("label") if isinstance(option, Mapping) else option
                answers[question] = str(label or prompt.option(answer.choice_id).label)
        return ApprovalDecision.allowed({**request.tool_input, "answers": answers})

    async def _plan(self, request: ApprovalRequest) -> ApprovalDecision:
        prompt = plan_approval_prompt(
            request.plan or "(the plan was not shown)", timeout_s=self.timeout_s
        )
        answer = await self.surface.ask_choice(self._notifying(prompt))
        if answer.choice_id == APPROVE_PLAN and not answer.timed_out:
            return ApprovalDecision.allowed()
        return ApprovalDecision.denied("The user wants to keep planning; revise the plan.")


def _scope_label(rule: SessionRule | None) -> str | None:
    """What the session button names: the command words, or the tool and directory."""
    if rule is None:
        return None
    if rule.scope:
        return " ".join(rule.scope)
    if rule.directory:
        return f"{rule.tool} in {os.path.basename(rule.directory) or rule.directory}"
    return None
