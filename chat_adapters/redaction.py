"""Scrub secrets from anything a person or a log file will see.

Known secret values (the bot's own tokens) are replaced verbatim; well-known token
shapes (API keys, bot tokens, bearer headers, private-key blocks, key=value secrets) are
caught by pattern, so a tool input such as ``curl -H "x-api-key: sk-ant-…"`` is safe to
show in a chat. Every text a chat surface sends passes through here
(:mod:`chat_adapters.redacting_surface`); the README lists what it cannot catch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MASK = "[REDACTED]"

_PEM_BEGIN = r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----"
_PEM_END = r"-----END[A-Z0-9 ]*PRIVATE KEY-----"
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # A private-key block; unterminated it runs to the end (a reply still streaming, or
    # cut into two messages), and an END with no BEGIN masks from the start.
    re.compile(rf"{_PEM_BEGIN}[\s\S]*?(?:{_PEM_END}|\Z)"),
    re.compile(rf"\A(?:(?!{_PEM_BEGIN})[\s\S])*?{_PEM_END}"),
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),  # Anthropic
    re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),  # OpenAI
    re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_\-]{30,}"),  # Telegram bot token
    re.compile(r"\b[A-Za-z0-9_\-]{23,}\.[A-Za-z0-9_\-]{6,7}\.[A-Za-z0-9_\-]{27,}"),  # Discord
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),  # GitHub
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}"),
    re.compile(r"\bxox[abprse]-[A-Za-z0-9\-]{10,}"),  # Slack
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"(?i)\bauthorization\s*[:=]\s*[\"']?\w+\s+[A-Za-z0-9._~+/\-]{6,}=*"),
    re.compile(r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/\-]{12,}=*"),
    re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:[^\s@/]{3,}@"),  # user:pass@ in a URL
)
_ASSIGNMENT = re.compile(
    r"(?i)(\b[\w-]*(?:api[_-]?key|token|secret|password|passwd|access[_-]?key|credential)"
    r"[\w-]*\b[\"']?\s*[=:]\s*[\"']?)"
    r"([^\s\"']{4,})"
)
_TOKEN_TAIL = re.compile(r"\S+\Z")


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

    def straddling(self, text: str, cut: int) -> int | None:
        """Where a secret that ``text[:cut]`` / ``text[cut:]`` would cut in two starts
        (None if the cut is clean): a long reply is split there instead, so neither
        message holds half a key that no pattern recognises alone."""
        starts: list[int] = []
        for secret in self.secrets:
            at = text.find(secret, max(0, cut - len(secret) + 1))
            if at != -1 and at < cut < at + len(secret):
                starts.append(at)
        for pattern in (*_PATTERNS, _ASSIGNMENT):
            for match in pattern.finditer(text):
                if match.start() < cut < match.end():
                    starts.append(match.start())
                if match.start() >= cut:
                    break
        return min(starts) if starts else None

    def settled(self, text: str) -> str:
        """``text`` still being written (a live reply), redacted and without its last,
        unfinished word: a secret arriving in pieces is never shown as a prefix short
        enough to slip past the patterns. The final text is redacted whole."""
        if text and not text[-1].isspace():
            text = _TOKEN_TAIL.sub("", text)
        return self(text)
