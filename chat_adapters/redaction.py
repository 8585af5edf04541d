"""Scrub secrets from anything a person or a log file will see.

Known secret values (the bot's own tokens) are replaced verbatim; well-known token
shapes (API keys, bot tokens, bearer headers, key=value secrets) are caught by pattern,
so a tool input such as ``curl -H "x-api-key: sk-ant-…"`` is safe to show in a chat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MASK = "[REDACTED]"

_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_\-]{20,}"),
    re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_\-]{30,}"),  # Telegram bot token
    re.compile(r"\b[MNO][A-Za-z0-9_\-]{23,}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,}\b"),  # Discord
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}\b"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]{12,}=*"),
)
_ASSIGNMENT = re.compile(
    r"(?i)(\b[\w-]*(?:api[_-]?key|token|secret|password|passwd)[\w-]*\b\s*[=:]\s*[\"']?)"
    r"([^\s\"']{4,})"
)


@dataclass(frozen=True, slots=True)
class Redactor:
    """Replaces known secret values and token-shaped strings with a mask."""

    secrets: tuple[str, ...] = field(default=())

    @classmethod
    def with_secrets(cls, secrets: Iterable[str]) -> Redactor:
        # Longest first, so a secret that contains another is masked whole.
        return cls(tuple(sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(MASK, text)
        return _ASSIGNMENT.sub(lambda m: m.group(1) + MASK, text)
