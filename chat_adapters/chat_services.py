"""What every part of the command layer reads: the settings for chats and the services
the dispatcher was built with, held once so a replaced policy is seen everywhere."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

from chat_adapters.background import BackgroundTasks
from chat_adapters.redaction import Redactor
from chat_adapters.surface import Surface
from session_core.catalog import SessionCatalog
from session_core.roots import ApprovedRoots
from session_core.turn_source import TurnSource
from storage import ChatKey, Database


@dataclass(frozen=True, slots=True)
class ChatPolicy:
    """What the settings say about chats, handed in explicitly."""

    allowed_users: frozenset[tuple[str, str]]
    verbosity: int = 1
    model: str | None = None
    permission_mode: str = "default"
    allow_bypass: bool = False
    approval_timeout_s: float = 300.0
    audit_days: int = 90
    approvers: frozenset[tuple[str, str]] = frozenset()
    """Who may answer approvals; empty: any allowed user."""
    claude_code: str = ""
    """Which Claude Code runs turns and, when it is not the user's own, why."""
    max_queued: int = 20
    """Prompts a chat may have waiting behind its running turn; more are refused."""
    inbox_days: float = 7.0
    warm_new_sessions: bool = True
    """``/new`` starts Claude Code for the new session before its first prompt."""


class Spawn(Protocol):
    """Run work in the background; a refusal it raises is told on ``surface``."""

    def __call__(self, work: Awaitable[object], surface: Surface | None = None) -> None: ...


@dataclass(slots=True)
class ChatServices:
    """One per dispatcher. Mutable on purpose: ``policy`` may be replaced at run time."""

    runner: TurnSource
    catalog: SessionCatalog
    roots: ApprovedRoots
    db: Database
    policy: ChatPolicy
    redactor: Redactor
    spawn: Spawn
    background: BackgroundTasks
    """The bot's one owner of background work (``serve()`` drains it at shutdown)."""


def chat_text(chat: ChatKey) -> str:
    """A chat's id as logs and the audit trail show it."""
    return f"{chat.chat_id}:{chat.thread_id}" if chat.thread_id else chat.chat_id
