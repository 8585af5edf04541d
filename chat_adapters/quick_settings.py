"""The settings a one-shot `baton sessions` needs, read without importing pydantic.

``Settings`` (pydantic-settings) costs a few tenths of a second to import, more than the
whole of ``baton sessions --limit 1`` should take. This reader is the one other module
that reads the environment: it reads the same names, from the environment and a plain
``.env``, the same way, and checks every setting ``Settings`` knows, so a bad value
still stops every command. Anything it is not sure about (a value it would refuse, a
``.env`` with quoting or interpolation it does not parse) returns None, and the caller
loads the full ``Settings``, which then says exactly what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from session_core.vocabulary import APPS, BYPASS, PERMISSION_MODES

_BOOLS = {
    **dict.fromkeys(("1", "on", "t", "true", "y", "yes"), True),
    **dict.fromkeys(("0", "off", "f", "false", "n", "no"), False),
}


@dataclass(frozen=True, slots=True)
class QuickSettings:
    """What listing sessions needs: where Claude's files are, the roots, logging."""

    claude_config_dir: Path
    roots: tuple[Path, ...]
    cache_dir: Path
    log_level: str | None
    """BATON_LOG_LEVEL when it is set, else None (each command picks its default)."""
    log_format: str
    secrets: tuple[str, ...]


class _Unsure(Exception):
    """Leave this one to the full Settings."""


def _text(value: str) -> str:
    return value


def _integer(low: int | None = None, high: int | None = None) -> Callable[[str], object]:
    def parse(value: str) -> object:
        try:
            number = int(value.strip())
        except ValueError:
            raise _Unsure from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise _Unsure
        return number

    return parse


def _optional_integer(value: str) -> object:
    return None if not value.strip() else _integer()(value)


def _positive_float(value: str) -> object:
    try:
        number = float(value.strip())
    except ValueError:
        raise _Unsure from None
    if not number > 0:
        raise _Unsure
    return number


def _non_negative_float(value: str) -> object:
    try:
        number = float(value.strip())
    except ValueError:
        raise _Unsure from None
    if not number >= 0:
        raise _Unsure
    return number


def _boolean(value: str) -> object:
    found = _BOOLS.get(value.strip().lower())
    if found is None:
        raise _Unsure
    return found


def _one_of(*choices: str) -> Callable[[str], object]:
    def parse(value: str) -> object:
        if value not in choices:
            raise _Unsure
        return value

    return parse


def _users(value: str) -> object:
    for item in filter(None, (part.strip() for part in value.split(","))):
        app, sep, user_id = item.partition(":")
        if not sep or app not in APPS or not user_id.strip().isdigit():
            raise _Unsure
    return value


def _roots(value: str) -> object:
    roots = [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]
    if not roots or not all(root.is_dir() for root in roots):
        raise _Unsure
    return tuple(Path(os.path.realpath(root)) for root in roots)


def _directory(default: Callable[[], Path]) -> Callable[[str], object]:
    def parse(value: str) -> object:
        return Path(value).expanduser() if value.strip() else default()

    return parse


def _claude_home() -> Path:
    return Path.home() / ".claude"


def _data_dir() -> Path:
    return Path(platformdirs.user_data_dir("claude-baton"))


def _cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("claude-baton"))


PARSERS: Mapping[str, Callable[[str], object]] = {
    "TELEGRAM_BOT_TOKEN": _text,
    "TELEGRAM_API_URL": _text,
    "DISCORD_BOT_TOKEN": _text,
    "DISCORD_API_URL": _text,
    "DISCORD_GATEWAY_URL": _text,
    "DISCORD_GUILD_ID": _optional_integer,
    "BATON_ALLOWED_USERS": _users,
    "BATON_APPROVERS": _users,
    "BATON_ROOTS": _roots,
    "BATON_DATA_DIR": _directory(_data_dir),
    "BATON_CACHE_DIR": _directory(_cache_dir),
    "CLAUDE_CONFIG_DIR": _directory(_claude_home),
    "ANTHROPIC_API_KEY": _text,
    "BATON_CLAUDE_CLI": _text,
    "PATH": _text,
    "BATON_MODEL": _text,
    "BATON_MAX_TURNS": _integer(low=1),
    "BATON_MAX_BUDGET_USD": _positive_float,
    "BATON_VERBOSITY": _integer(0, 2),
    "BATON_PERMISSION_MODE": _one_of(*PERMISSION_MODES),
    "BATON_ALLOW_BYPASS": _boolean,
    "BATON_APPROVAL_TIMEOUT_S": _positive_float,
    "BATON_IDLE_TIMEOUT_S": _positive_float,
    "BATON_MAX_LIVE_CLIENTS": _integer(low=1),
    "BATON_AUDIT_DAYS": _integer(low=1),
    "BATON_MAX_QUEUED": _integer(low=1),
    "BATON_INBOX_DAYS": _positive_float,
    "BATON_LOG_LEVEL": _one_of("DEBUG", "INFO", "WARNING", "ERROR"),
    "BATON_LOG_FORMAT": _one_of("auto", "json", "console"),
    "BATON_TRANSCRIBE_URL": _text,
    "BATON_TRANSCRIBE_API_KEY": _text,
    "BATON_TRANSCRIBE_MODEL": _text,
    "BATON_WHISPER_MODEL": _text,
    "BATON_VOICE_MAX_MB": _positive_float,
    "BATON_VOICE_MAX_S": _positive_float,
    "BATON_NOTIFY_AFTER_S": _non_negative_float,
    "BATON_TELEGRAM_DRAFTS": _boolean,
    "BATON_WARM_NEW_SESSIONS": _boolean,
}
"""Every setting ``Settings`` reads, by its environment name (a test keeps them equal)."""


def _dotenv(path: Path) -> dict[str, str] | None:
    """``KEY=value`` lines; None for anything fancier (quotes with escapes, ``$``, ``#``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError):
        return None
    found: dict[str, str] = {}
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.isidentifier() or any(c in value for c in "\\$#`"):
            return None
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif value[:1] in ("'", '"'):
            return None
        found[key.lower()] = value
    return found


def quick_settings() -> QuickSettings | None:
    """The settings from the environment and ``./.env``, or None when unsure."""
    dotenv = _dotenv(Path(".env"))
    if dotenv is None:
        return None
    merged = {**dotenv, **{key.lower(): value for key, value in os.environ.items()}}
    values: dict[str, object] = {}
    try:
        for name, parse in PARSERS.items():
            raw = merged.get(name.lower())
            if raw is not None:
                values[name] = parse(raw)
    except _Unsure:
        return None
    if values.get("BATON_PERMISSION_MODE") == BYPASS and not values.get("BATON_ALLOW_BYPASS"):
        return None  # the full Settings refuses this, with the line that names both
    roots = values.get("BATON_ROOTS") or (Path.cwd().resolve(),)
    tokens = tuple(
        values.get(name)
        for name in (
            "TELEGRAM_BOT_TOKEN",
            "DISCORD_BOT_TOKEN",
            "BATON_TRANSCRIBE_API_KEY",
            "ANTHROPIC_API_KEY",
        )
    )
    return QuickSettings(
        claude_config_dir=_path(values.get("CLAUDE_CONFIG_DIR"), _claude_home),
        roots=roots,  # type: ignore[arg-type]
        cache_dir=_path(values.get("BATON_CACHE_DIR"), _cache_dir),
        log_level=str(values["BATON_LOG_LEVEL"]) if "BATON_LOG_LEVEL" in values else None,
        log_format=str(values.get("BATON_LOG_FORMAT", "auto")),
        secrets=tuple(token for token in tokens if isinstance(token, str) and token),
    )


def _path(value: object, default: Callable[[], Path]) -> Path:
    return value if isinstance(value, Path) else default()
