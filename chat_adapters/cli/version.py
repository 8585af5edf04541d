"""`baton --version`: baton, the SDK (with its bundled CLI) and the CLI that runs turns."""

from __future__ import annotations

import typer


def print_version() -> None:
    from chat_adapters.settings import SettingsError, load_settings, process_environment
    from chat_adapters.version_info import version_lines
    from session_core.claude_cli import choose_cli

    try:
        settings = load_settings()
        choice = choose_cli(
            settings.claude_cli, settings.search_path, process_environment(settings)
        )
    except SettingsError as exc:
        typer.echo(f"baton: bad setting ({exc}); showing the bundled CLI", err=True)
        choice = choose_cli(None, "", {})
    typer.echo("\n".join(version_lines(choice)))
