"""Who may use the bot: an in-memory decision on the allow list, and an audit row for
every attempt, written in the background so a slow database never refuses or delays
anyone."""

from __future__ import annotations

import structlog

from chat_adapters.audit_trail import AuditRow, AuditTrail
from chat_adapters.chat_input import Sender
from chat_adapters.chat_services import ChatServices, chat_text
from chat_adapters.press_gate import PressGate
from storage import ChatKey

log = structlog.get_logger(__name__)

REFUSAL_TEXT = "Sorry, you are not allowed to use this bot. This attempt was logged."


class Access:
    def __init__(self, services: ChatServices) -> None:
        self._s = services
        policy = services.policy
        self.audit = AuditTrail(services.db, retention_days=policy.audit_days)
        self.presses = PressGate(
            allowed_users=policy.allowed_users,
            approvers=policy.approvers,
            audit=self.audit,
            redactor=services.redactor,
            refusal_text=REFUSAL_TEXT,
        )

    def is_allowed(self, sender: Sender) -> bool:
        return (sender.app, sender.user_id) in self._s.policy.allowed_users

    def authorize(self, sender: Sender, chat: ChatKey, action: str) -> bool:
        allowed = self.is_allowed(sender)
        self.audit.note(
            AuditRow(
                app=sender.app,
                user_id=sender.user_id,
                chat_id=chat_text(chat),
                action=action,
                allowed=allowed,
                detail=self._s.redactor(action)[:200],
            )
        )
        if not allowed:
            log.warning("refused", app=sender.app, user_id=sender.user_id, action=action[:40])
        return allowed
