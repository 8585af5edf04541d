"""Who pressed what: every button press is decided here and audited.

A press (an approval, a question's option, fork or continue, a picker, Stop) is allowed
for anyone in the allowed-users list; approvals (tool and plan) additionally only for
``BATON_APPROVERS`` when that is set, so in a shared chat a member who may prompt cannot
necessarily approve. Each press leaves an audit row with app, chat, user and what was
pressed; the refusal text goes back to the presser alone (an ephemeral message on
Discord, the callback answer on Telegram).
"""

from __future__ import annotations

from dataclasses import dataclass

from chat_adapters.audit_trail import AuditRow, AuditTrail
from chat_adapters.redaction import Redactor

APPROVAL_KINDS = frozenset({"approval", "plan"})
NOT_APPROVER = "Only an approver (BATON_APPROVERS) can answer this. This attempt was logged."


@dataclass(frozen=True, slots=True)
class Press:
    app: str
    user_id: str
    chat_id: str
    kind: str
    """The prompt's kind ("approval", "question", "plan", "other") or "stop"."""
    label: str
    """What the button said."""


class PressGate:
    """See the module doc."""

    def __init__(
        self,
        *,
        allowed_users: frozenset[tuple[str, str]],
        approvers: frozenset[tuple[str, str]],
        audit: AuditTrail,
        redactor: Redactor,
        refusal_text: str,
    ) -> None:
        self._allowed = allowed_users
        self._approvers = approvers
        self._audit = audit
        self._redact = redactor
        self._refusal = refusal_text

    def check(self, press: Press) -> str | None:
        """None: go ahead. Otherwise the refusal to show the presser (audited either way)."""
        who = (press.app, press.user_id)
        refusal: str | None = None
        if who not in self._allowed:
            refusal = self._refusal
        elif press.kind in APPROVAL_KINDS and self._approvers and who not in self._approvers:
            refusal = NOT_APPROVER
        self._audit.note(
            AuditRow(
                app=press.app,
                user_id=press.user_id,
                chat_id=press.chat_id,
                action=f"press:{press.kind}",
                allowed=refusal is None,
                detail=self._redact(press.label)[:200],
            )
        )
        return refusal
