"""What every `baton` command shares: one-line failures and reading the settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from chat_adapters.settings import Settings
    from session_core.roots import ApprovedRoots


def fail(message: str, code: int = 1) -> NoReturn:
    """A user error: one clear line on stderr and a non-zero exit."""
    typer.echo(f"baton: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    from chat_adapters.app import setup_logging
    from chat_adapters.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(f"bad setting: {exc}", 2)
    setup_logging(settings)
    return settings


def directory_or_exit(roots: ApprovedRoots, directory: str | None) -> Path:
    from session_core.roots import OutsideRoots

    if directory is None:
        return roots.default
    try:
        return roots.resolve(directory, base=Path.cwd())
    except OutsideRoots as exc:
        fail(f"refused: {exc}")
