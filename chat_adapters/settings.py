"""Every setting, read once from the environment and an optional `.env`.

This is the only module that reads the environment. Everything else receives explicit
arguments, so tests and the composition root decide what a component sees.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

AppName = Literal["telegram", "discord"]
APPS: tuple[AppName, ...] = ("telegram", "discord")


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
    cache_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_cache_dir("claude-baton")),
        alias="BATON_CACHE_DIR",
    )

    model: str | None = Field(default=None, alias="BATON_MODEL")
    max_turns: int | None = Field(default=None, ge=1, alias="BATON_MAX_TURNS")
    max_budget_usd: float | None = Field(default=None, gt=0, alias="BATON_MAX_BUDGET_USD")
    verbosity: int = Field(default=1, ge=0, le=2, alias="BATON_VERBOSITY")
    permission_mode: Literal["default", "acceptEdits", "plan", "bypassPermissions"] = Field(
        default="default", alias="BATON_PERMISSION_MODE"
    )
    allow_bypass: bool = Field(default=False, alias="BATON_ALLOW_BYPASS")
    approval_timeout_s: float = Field(default=300.0, gt=0, alias="BATON_APPROVAL_TIMEOUT_S")
    idle_timeout_s: float = Field(default=600.0, gt=0, alias="BATON_IDLE_TIMEOUT_S")
    max_live_clients: int = Field(default=4, ge=1, alias="BATON_MAX_LIVE_CLIENTS")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", alias="BATON_LOG_LEVEL"
    )
    log_format: Literal["auto", "json", "console"] = Field(default="auto", alias="BATON_LOG_FORMAT")

    @field_validator("allowed_users", mode="before")
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

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return Path(platformdirs.user_data_dir("claude-baton"))
            return Path(value).expanduser()
        return value

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
        found = (self.telegram_bot_token, self.discord_bot_token)
        return tuple(s.get_secret_value() for s in found if s and s.get_secret_value())


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation error into one line naming the setting."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        field = Settings.model_fields.get(name)
        env_name = field.alias if field and field.alias else name
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{env_name}: {message}") from None
    return settings
