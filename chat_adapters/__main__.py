"""`baton`: list and continue Claude Code sessions, check the set-up, run the chat apps.

This module only declares the commands and their options. Each command imports its
body from ``chat_adapters.cli.<name>`` inside the function, so ``baton --help``, shell
completion and ``baton sessions`` never import the SDK or a chat library. A new command
follows the same pattern: options here, a lazy import, the body in its own module.
"""

from __future__ import annotations

from typing import Annotated

import typer

cli = typer.Typer(
    help="Drive one Claude Code session from the terminal, Telegram and Discord.",
    no_args_is_help=True,
    add_completion=True,  # `baton --install-completion`; completing imports no command body
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: importing rich costs more than the rest of --help
)


@cli.callback()
def options(
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Log at INFO, not just warnings.")
    ] = False,
) -> None:
    """Options for every command (before the command's name: ``baton -v sessions``)."""
    from chat_adapters.cli.common import set_verbose

    set_verbose(verbose)


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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
