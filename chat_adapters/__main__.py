"""`baton`: list and continue Claude Code sessions, check the set-up, run the chat apps.

This module only declares the commands and their options. Each command imports its
body from ``chat_adapters.cli.<name>`` inside the function, so ``baton --help``, shell
completion and ``baton sessions`` never import the SDK or a chat library. A new command
follows the same pattern: options here, a lazy import, the body in its own module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

cli = typer.Typer(
    help="Drive one Claude Code session from the terminal, Telegram and Discord.",
    no_args_is_help=True,
    add_completion=True,  # `baton --install-completion`; completing imports no command body
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: importing rich costs more than the rest of --help
)


def _print_version(value: bool) -> None:
    if not value:
        return
    from chat_adapters.cli.version import print_version

    print_version()
    raise typer.Exit()


@cli.callback()
def options(
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Log at INFO, not just warnings.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the versions of baton, the SDK and the Claude Code CLI, then exit.",
        ),
    ] = False,
) -> None:
    """Options for every command (before the command's name: ``baton -v sessions``)."""
    from chat_adapters.cli.common import escape_unencodable_output, set_verbose

    set_verbose(verbose)
    escape_unencodable_output()


@cli.command()
def sessions(
    directory: Annotated[str | None, typer.Option("--dir", help="Project directory.")] = None,
    all_projects: Annotated[bool, typer.Option("--all", help="Every project.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="At most N sessions.")] = None,
) -> None:
    """List sessions, newest first, for the default directory (or --dir, or --all)."""
    from chat_adapters.cli.sessions import list_sessions

    list_sessions(directory, all_projects, as_json, limit)


@cli.command()
def ask(
    prompt: Annotated[list[str], typer.Argument(help="What to ask Claude.")],
    directory: Annotated[str | None, typer.Option("--dir", help="Project directory.")] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="Session id or unique prefix.")
    ] = None,
    new: Annotated[bool, typer.Option("--new", help="Start a fresh session.")] = False,
) -> None:
    """One turn, streamed; with no --session it continues the directory's newest session."""
    from chat_adapters.cli.ask import ask as ask_once

    ask_once(" ".join(prompt), directory, session, new)


@cli.command()
def doctor() -> None:
    """Check the Claude home, history.jsonl, the CLI, the apps and the database."""
    from chat_adapters.cli.doctor import doctor as check_everything

    check_everything()


@cli.command()
def run() -> None:
    """Run the configured chat apps (Telegram and/or Discord) until Ctrl-C."""
    from chat_adapters.cli.run import run as run_configured_apps

    run_configured_apps()


service_cli = typer.Typer(
    help="Run `baton run` as a user service (systemd on Linux, launchd on macOS).",
    no_args_is_help=True,
)
cli.add_typer(service_cli, name="service")


@service_cli.command("install")
def service_install(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the unit only.")] = False,
) -> None:
    """Install and start the service for the settings (.env) of the current directory."""
    from chat_adapters.service_cli import install

    raise typer.Exit(install(dry_run=dry_run))


@service_cli.command("status")
def service_status() -> None:
    """The service manager's status of the service."""
    from chat_adapters.service_cli import status

    raise typer.Exit(status())


@service_cli.command("uninstall")
def service_uninstall() -> None:
    """Stop the service and remove its file."""
    from chat_adapters.service_cli import uninstall

    raise typer.Exit(uninstall())


@cli.command()
def setup(
    listen_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for your message when finding your id.")
    ] = 120.0,
) -> None:
    """Walk through what is missing (Telegram, Discord, allowed users, roots); write .env."""
    from chat_adapters.setup_wizard import run_setup

    raise typer.Exit(run_setup(Path.cwd() / ".env", listen_timeout_s=listen_timeout))


@cli.command()
def audit(
    since: Annotated[
        str | None, typer.Option(help="Only newer entries: 30m, 12h, 1d, 2w or a date.")
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Only this user: telegram:<id>, discord:<id> or <id>.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most the newest N entries.")] = 1000,
) -> None:
    """Who did what, oldest first: commands, messages, buttons; refusals marked."""
    from chat_adapters.audit_cli import show_audit
    from chat_adapters.cli.common import settings_or_exit

    raise typer.Exit(show_audit(settings_or_exit(), since, user, as_json, limit))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
