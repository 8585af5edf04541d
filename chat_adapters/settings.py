"""Every setting, read once from the environment and an optional `.env`.

This is the only module that reads the environment. Everything else receives explicit
arguments, so tests and the composition root decide what a component sees.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, get_args

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from session_core.vocabulary import APPS, BYPASS, AppName, PermissionMode


class SettingsError(Exception):
    """A bad setting, phrased as one line that names it."""


class Settings(BaseSettings):
    """The bot's configuration; the README documents each field."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field(default="https://api.telegram.org", alias="TELEGRAM_API_URL")
    discord_bot_token: SecretStr | None = Field(default=None, alias="DISCORD_BOT_TOKEN")
    discord_api_url: str = Field(default="https://discord.com/api", alias="DISCORD_API_URL")
    discord_gateway_url: str = Field(
        default="wss://gateway.discord.gg", alias="DISCORD_GATEWAY_URL"
    )
    discord_guild_id: int | None = Field(default=None, alias="DISCORD_GUILD_ID")

    allowed_users: Annotated[frozenset[tuple[AppName, str]], NoDecode] = Field(
        default=frozenset(), alias="BATON_ALLOWED_USERS"
    )
    approvers: Annotated[frozenset[tuple[AppName, str]], NoDecode] = Field(
        default=frozenset(), alias="BATON_APPROVERS"
    )
    roots: Annotated[tuple[Path, ...], NoDecode] = Field(
        default_factory=lambda: (Path.cwd().resolve(),), alias="BATON_ROOTS"
    )
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("claude-baton")),
        alias="BATON_DATA_DIR",
    )
    claude_config_dir: Path = Field(
        default_factory=lambda: Path.home() / ".claude", alias="CLAUDE_CONFIG_DIR"
    )
    anthropic_api_key: str | None = Field(default=None, alias="ANTHROPIC_API_KEY", repr=False)
    """Claude Code's own credential, passed on to it so a key kept in `.env` reaches it
    (the environment's own value reaches it anyway). Not a ``SecretStr``: the bot's
    secrets are withheld from Claude processes, and this one is theirs. Redacted in logs
    all the same (see :meth:`secrets`)."""
    claude_cli: Path | None = Field(default=None, alias="BATON_CLAUDE_CLI")
    search_path: str = Field(default="", alias="PATH")
    """Where to look for the user's own ``claude`` (see session_core.claude_cli)."""
    cache_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_cache_dir("claude-baton")),
        alias="BATON_CACHE_DIR",
    )

    model: str | None = Field(default=None, alias="BATON_MODEL")
    max_turns: int | None = Field(default=None, ge=1, alias="BATON_MAX_TURNS")
    max_budget_usd: float | None = Field(default=None, gt=0, alias="BATON_MAX_BUDGET_USD")
    verbosity: int = Field(default=1, ge=0, le=2, alias="BATON_VERBOSITY")
    permission_mode: PermissionMode = Field(default="default", alias="BATON_PERMISSION_MODE")
    allow_bypass: bool = Field(default=False, alias="BATON_ALLOW_BYPASS")
    approval_timeout_s: float = Field(default=300.0, gt=0, alias="BATON_APPROVAL_TIMEOUT_S")
    idle_timeout_s: float = Field(default=600.0, gt=0, alias="BATON_IDLE_TIMEOUT_S")
    max_live_clients: int = Field(default=4, ge=1, alias="BATON_MAX_LIVE_CLIENTS")
    audit_days: int = Field(default=90, ge=1, alias="BATON_AUDIT_DAYS")
    max_queued: int = Field(default=20, ge=1, alias="BATON_MAX_QUEUED")
    inbox_days: float = Field(default=7.0, gt=0, alias="BATON_INBOX_DAYS")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", alias="BATON_LOG_LEVEL"
    )
    log_format: Literal["auto", "json", "console"] = Field(default="auto", alias="BATON_LOG_FORMAT")

    transcribe_url: str | None = Field(default=None, alias="BATON_TRANSCRIBE_URL")
    transcribe_api_key: SecretStr | None = Field(default=None, alias="BATON_TRANSCRIBE_API_KEY")
    transcribe_model: str = Field(default="whisper-1", alias="BATON_TRANSCRIBE_MODEL")
    whisper_model: str | None = Field(default=None, alias="BATON_WHISPER_MODEL")
    voice_max_mb: float = Field(default=20.0, gt=0, alias="BATON_VOICE_MAX_MB")
    voice_max_s: float = Field(default=600.0, gt=0, alias="BATON_VOICE_MAX_S")
    notify_after_s: float = Field(default=30.0, ge=0, alias="BATON_NOTIFY_AFTER_S")
    telegram_drafts: bool = Field(default=True, alias="BATON_TELEGRAM_DRAFTS")
    warm_new_sessions: bool = Field(default=True, alias="BATON_WARM_NEW_SESSIONS")

    @field_validator("allowed_users", "approvers", mode="before")
    @classmethod
    def _parse_users(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        users: set[tuple[str, str]] = set()
        for item in filter(None, (part.strip() for part in value.split(","))):
            app, sep, user_id = item.partition(":")
            if not sep or app not in APPS or not user_id.strip().isdigit():
                raise ValueError(f"{item!r} is not telegram:<numeric id> or discord:<numeric id>")
            users.add((app, user_id.strip()))
        return frozenset(users)

    @field_validator("roots", mode="before")
    @classmethod
    def _parse_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(Path(p).expanduser() for p in value.split(os.pathsep) if p.strip())
        return value

    @field_validator("roots")
    @classmethod
    def _roots_exist(cls, value: tuple[Path, ...]) -> tuple[Path, ...]:
        for root in value:
            if not root.is_dir():
                raise ValueError(f"{root} is not a directory")
        if not value:
            raise ValueError("at least one directory is required")
        return tuple(Path(os.path.realpath(r)) for r in value)

    @field_validator("claude_config_dir", mode="before")
    @classmethod
    def _config_dir(cls, value: object) -> object:
        # Claude Code treats an empty CLAUDE_CONFIG_DIR as unset.
        if isinstance(value, str):
            return Path(value).expanduser() if value.strip() else Path.home() / ".claude"
        return value

    @field_validator("claude_cli", mode="before")
    @classmethod
    def _claude_cli(cls, value: object) -> object:
        if isinstance(value, str):
            return Path(value).expanduser() if value.strip() else None
        return value

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return Path(platformdirs.user_data_dir("claude-baton"))
            return Path(value).expanduser()
        return value

    @model_validator(mode="after")
    def _bypass_needs_permission(self) -> Settings:
        if self.permission_mode == BYPASS and not self.allow_bypass:
            raise ValueError(
                "BATON_PERMISSION_MODE=bypassPermissions needs BATON_ALLOW_BYPASS=true"
            )
        return self

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _cache_dir(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return Path(platformdirs.user_cache_dir("claude-baton"))
            return Path(value).expanduser()
        return value

    def configured_apps(self) -> tuple[AppName, ...]:
        tokens = {"telegram": self.telegram_bot_token, "discord": self.discord_bot_token}
        return tuple(app for app in APPS if (token := tokens[app]) and token.get_secret_value())

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a log line or a chat message."""
        found = (self.telegram_bot_token, self.discord_bot_token, self.transcribe_api_key)
        tokens = tuple(s.get_secret_value() for s in found if s and s.get_secret_value())
        return (*tokens, self.anthropic_api_key) if self.anthropic_api_key else tokens


BOT_PREFIXES = ("TELEGRAM_", "DISCORD_", "BATON_")
"""Variables that configure the bot itself; no Claude process needs them."""
_NEVER_INHERITED = frozenset({"IS_SANDBOX"})
"""Set per turn by the runner when the operator allows bypass, never passed through."""
_MIN_SECRET_LENGTH = 8
"""A secret value shorter than this is not looked for inside other variables."""


def secret_setting_names() -> frozenset[str]:
    """The variables of every setting marked secret (typed ``SecretStr``)."""
    return frozenset(
        field.alias or name
        for name, field in Settings.model_fields.items()
        if field.annotation is SecretStr or SecretStr in get_args(field.annotation)
    )


def _secret_values(settings: Settings) -> tuple[str, ...]:
    values = (getattr(settings, name) for name in Settings.model_fields)
    return tuple(
        text
        for value in values
        if isinstance(value, SecretStr)
        and len(text := value.get_secret_value()) >= _MIN_SECRET_LENGTH
    )


def held_by_bot(name: str, value: str, secrets: tuple[str, ...] = ()) -> bool:
    """Whether a variable is the bot's own: a bot setting, a secret setting, or any
    variable carrying one of the bot's secret values."""
    upper = name.upper()
    return (
        upper.startswith(BOT_PREFIXES)
        or upper in secret_setting_names()
        or upper in _NEVER_INHERITED
        or any(secret in value for secret in secrets)
    )


def claude_environment(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for a Claude process: ``environ`` minus what the bot holds."""
    secrets = _secret_values(settings)
    return {k: v for k, v in environ.items() if not held_by_bot(k, v, secrets)}


def process_environment(settings: Settings) -> dict[str, str]:
    """The environment a Claude process started now would get, this process's own left
    as it is (for a one-shot command that asks a CLI its version)."""
    return claude_environment(settings, os.environ)


def split_environment(settings: Settings) -> dict[str, str]:
    """Once settings are read: remove what the bot holds from this process's environment
    (tokens stay only in ``settings``) and return the environment Claude processes get.

    The SDK starts the CLI with ``os.environ`` under the options' env, so both must be
    clean; this is the one place that makes them so.
    """
    secrets = _secret_values(settings)
    for name, value in list(os.environ.items()):
        if held_by_bot(name, value, secrets):
            del os.environ[name]
    return claude_environment(settings, os.environ)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation error into one line naming the setting."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:  # a rule across settings names them itself
            raise SettingsError(message) from None
        name = str(first["loc"][0])
        field = Settings.model_fields.get(name)
        env_name = field.alias if field and field.alias else name
        raise SettingsError(f"{env_name}: {message}") from None
    return settings
