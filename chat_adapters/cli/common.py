"""What the `baton` commands share: one-line failures, settings, logging, discovery.

Imports here are deferred into the functions: ``baton --help`` imports this module and
must stay free of pydantic, structlog and the session layer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from chat_adapters.settings import Settings
    from session_core.catalog import SessionCatalog
    from session_core.roots import ApprovedRoots

_verbose = False


def set_verbose(verbose: bool) -> None:
    """``baton -v``: log at INFO and above instead of warnings only."""
    global _verbose
    _verbose = verbose


def escape_unencodable_output() -> None:
    """A lone surrogate (JavaScript writes one into history.jsonl for an emoji cut in
    half) cannot be encoded to UTF-8: print it as ``\\udXXX`` rather than die on it. In
    JSON output that escape reads back as the very same string."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")


def fail(message: str, code: int = 1) -> NoReturn:
    """A user error: one clear line on stderr and a non-zero exit."""
    typer.echo(f"baton: {message}", err=True)
    raise typer.Exit(code)


def _cli_log_level(explicit: str | None) -> str:
    """Warnings only, unless ``-v`` or an explicit BATON_LOG_LEVEL asks for more."""
    return "INFO" if _verbose and explicit in (None, "WARNING", "ERROR") else explicit or "WARNING"


def load_settings_or_exit() -> Settings:
    """The full settings, without touching logging."""
    from chat_adapters.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        fail(f"bad setting: {exc}", 2)


def settings_or_exit(*, cli_logging: bool = True) -> Settings:
    """The settings, with logging set up: a CLI command's level, or (``run``) the bot's."""
    from chat_adapters.logs import configure_logging
    from chat_adapters.redaction import Redactor

    settings = load_settings_or_exit()
    explicit = settings.log_level if "log_level" in settings.model_fields_set else None
    level = _cli_log_level(explicit) if cli_logging else settings.log_level
    configure_logging(level, settings.log_format, Redactor.with_secrets(settings.secrets()))
    return settings


@dataclass(frozen=True, slots=True)
class Discovery:
    """What listing sessions needs, built without the runner, the SDK or pydantic."""

    roots: ApprovedRoots
    catalog: SessionCatalog
    cache_dir: Path


def discovery_or_exit() -> Discovery:
    """The catalog and roots from the quick settings reader (the full one when unsure).

    Logging is configured only if something logs: structlog's import is skipped otherwise.
    """
    from chat_adapters.quick_settings import QuickSettings, quick_settings
    from session_core.catalog import SessionCatalog
    from session_core.claude_home import ClaudeHome
    from session_core.history_index import HistoryIndex
    from session_core.lazy_log import before_first_log
    from session_core.roots import ApprovedRoots

    quick = quick_settings()
    explicit: str | None
    if quick is None:
        settings = load_settings_or_exit()
        explicit = settings.log_level if "log_level" in settings.model_fields_set else None
        quick = QuickSettings(
            claude_config_dir=settings.claude_config_dir,
            roots=settings.roots,
            cache_dir=settings.cache_dir,
            log_level=explicit,
            log_format=settings.log_format,
            secrets=settings.secrets(),
        )
    level, fmt, secrets = _cli_log_level(quick.log_level), quick.log_format, quick.secrets

    def configure() -> None:
        from chat_adapters.logs import configure_logging
        from chat_adapters.redaction import Redactor

        configure_logging(level, fmt, Redactor.with_secrets(secrets))  # type: ignore[arg-type]

    before_first_log(configure)
    home = ClaudeHome(quick.claude_config_dir)
    catalog = SessionCatalog(home, index=HistoryIndex(home.history_path))
    return Discovery(ApprovedRoots(quick.roots), catalog, quick.cache_dir)


def directory_or_exit(roots: ApprovedRoots, directory: str | None) -> Path:
    from session_core.roots import OutsideRoots

    if directory is None:
        return roots.default
    try:
        return roots.resolve(directory, base=Path.cwd())
    except OutsideRoots as exc:
        fail(f"refused: {exc}")
