"""storage: the bot's own small SQLite database (aiosqlite).

Chat preferences, the audit log, usage per turn, which doors used a session,
pending button choices and inbound prompts until their turn ends. No sessions table:
Claude Code's files hold session state, and a pin here is only a pointer to a Claude session id.
"""

from storage.audit import AuditEntry, AuditLog
from storage.database import Database, DatabaseError
from storage.doors import DoorLog, DoorUse
from storage.inbound import InboundPrompt, InboundPrompts
from storage.migrations import MIGRATIONS, MigrationError, migration
from storage.pending import PendingChoice, PendingChoices
from storage.preferences import (
    ChatKey,
    ChatPreferences,
    PreferencesStore,
)
from storage.usage import UsageLog, UsageRecord, UsageTotals

__all__ = [
    "MIGRATIONS",
    "AuditEntry",
    "AuditLog",
    "ChatKey",
    "ChatPreferences",
    "Database",
    "DatabaseError",
    "DoorLog",
    "DoorUse",
    "InboundPrompt",
    "InboundPrompts",
    "MigrationError",
    "PendingChoice",
    "PendingChoices",
    "PreferencesStore",
    "UsageLog",
    "UsageRecord",
    "UsageTotals",
    "migration",
]
