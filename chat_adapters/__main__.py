"""`baton`: list and continue Claude Code sessions, check the set-up, run the chat apps."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from chat_adapters.app import Core, build_core, open_database, run_apps, setup_logging
from chat_adapters.data_dir import data_dir_problem
from chat_adapters.doctor import run_doctor
from chat_adapters.relative_time import ago
from chat_adapters.settings import Settings, SettingsError, load_settings
from chat_adapters.single_instance import AlreadyRunning
from session_core.catalog import AmbiguousSession, SessionSummary, UnknownSession
from session_core.events import TextDelta, ToolStarted, TurnFinished, TurnStarted
from session_core.roots import OutsideRoots
from storage import DatabaseError

cli = typer.Typer(
    help="Drive one Claude Code session from the terminal, Telegram and Discord.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 1) -> NoReturn:
    """A user error: one clear line on stderr and a non-zero exit."""
    typer.echo(f"baton: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(f"bad setting: {exc}", 2)
    setup_logging(settings)
    return settings


def directory_or_exit(core: Core, directory: str | None) -> Path:
    if directory is None:
        return core.roots.default
    try:
        return core.roots.resolve(directory, base=Path.cwd())
    except OutsideRoots as exc:
        fail(f"refused: {exc}")


def summary_json(summary: SessionSummary) -> dict[str, object]:
    return {
        "session_id": summary.session_id,
        "project": summary.project,
        "first_prompt": summary.first_prompt,
        "last_prompt": summary.last_prompt,
        "last_activity": summary.last_activity.isoformat().replace("+00:00", "Z"),
        "prompt_count": summary.prompt_count,
        "transcript": summary.has_transcript,
        "live": summary.live is not None,
    }


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@cli.command()
def sessions(
    directory: Annotated[str | None, typer.Option("--dir", help="Project directory.")] = None,
    all_projects: Annotated[bool, typer.Option("--all", help="Every project.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="At most N sessions.")] = None,
) -> None:
    """List sessions, newest first, for the default directory (or --dir, or --all)."""
    core = build_core(settings_or_exit())
    where = None if all_projects else directory_or_exit(core, directory)
    found = core.catalog.list(directory=where, limit=limit)
    if as_json:
        typer.echo(json.dumps([summary_json(s) for s in found], ensure_ascii=False, indent=1))
        return
    if not found:
        typer.echo(f"No sessions for {where}." if where else "No sessions.")
        return
    typer.echo(f"{'ID':8}  {'LAST':>9}  {'#':>3}  {'':4}  FIRST PROMPT")
    for s in found:
        flags = ("live" if s.live else "") or ("gone" if not s.has_transcript else "")
        prompt = one_line(s.first_prompt, 60)
        where_text = f"  [{s.project}]" if all_projects else ""
        typer.echo(
            f"{s.session_id[:8]:8}  {ago(s.last_activity):>9}  {s.prompt_count:>3}  "
            f"{flags:4}  {prompt}{where_text}"
        )


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
    if session and new:
        fail("--session and --new exclude each other", 2)
    core = build_core(settings_or_exit())
    where = directory_or_exit(core, directory)
    session_id = None
    if session:
        try:
            summary = core.catalog.resolve(session)
            core.roots.check(summary.project)
        except (UnknownSession, AmbiguousSession, OutsideRoots) as exc:
            fail(str(exc))
        session_id = summary.session_id
    finished = asyncio.run(_ask(core, " ".join(prompt), where, session_id, new))
    if not finished.ok:
        fail(f"turn ended: {finished.outcome}" + (f": {finished.error}" if finished.error else ""))


async def _ask(
    core: Core, prompt: str, where: Path, session_id: str | None, new: bool
) -> TurnFinished:
    finished: TurnFinished | None = None
    target = await core.runner.target_session(where, session_id, new)
    holder = await asyncio.to_thread(core.runner.holder, target) if target else None
    if holder:
        typer.echo(f"Session {target} is busy ({holder}); waiting for it.", err=True)
    try:
        async for event in core.runner.stream_turn(
            prompt, where, user_id="cli", session_id=session_id, force_new=new
        ):
            if isinstance(event, TurnStarted):
                if event.resume_failure:
                    failure = event.resume_failure
                    typer.echo(
                        f"Could not resume session {failure.session_id}: {failure.reason}",
                        err=True,
                    )
                    typer.echo(f"Started a new session instead: {event.session_id}", err=True)
            elif isinstance(event, TextDelta):
                sys.stdout.write(event.text)
                sys.stdout.flush()
            elif isinstance(event, ToolStarted):
                typer.echo(f"\n· {event.name}", err=True)
            elif isinstance(event, TurnFinished):
                finished = event
    finally:
        await core.runner.aclose()
    assert finished is not None, "a turn always ends with TurnFinished"
    await _record_cli_turn(core, finished)
    typer.echo("")
    typer.echo(
        f"session {finished.session_id} · {finished.outcome} · ${finished.cost_usd:.4f} · "
        f"{finished.duration_ms / 1000:.1f}s",
        err=True,
    )
    return finished


async def _record_cli_turn(core: Core, finished: TurnFinished) -> None:
    """The CLI is a door too: usage and "last used from" go where the chats' go."""
    if not finished.session_id:
        return
    try:
        database = await open_database(core.settings)
    except Exception as exc:  # the turn itself succeeded; bookkeeping must not fail it
        typer.echo(f"baton: usage not recorded: {exc}", err=True)
        return
    try:
        await database.usage.record(
            app="cli",
            session_id=finished.session_id,
            outcome=finished.outcome,
            cost_usd=finished.cost_usd,
            input_tokens=finished.usage.input_tokens,
            output_tokens=finished.usage.output_tokens,
            duration_ms=finished.duration_ms,
        )
        await database.doors.touch(finished.session_id, "cli")
    finally:
        await database.close()


@cli.command()
def doctor() -> None:
    """Check the Claude home, history.jsonl, the CLI, the apps and the database."""
    raise typer.Exit(asyncio.run(run_doctor(settings_or_exit())))


@cli.command()
def run() -> None:
    """Run the configured chat apps (Telegram and/or Discord) until Ctrl-C."""
    settings = settings_or_exit()
    apps = settings.configured_apps()
    if not apps:
        fail("no app configured: set TELEGRAM_BOT_TOKEN and/or DISCORD_BOT_TOKEN", 2)
    problem = data_dir_problem(settings.data_dir)
    if problem:
        fail(f"cannot use the data dir {settings.data_dir}: {problem} (BATON_DATA_DIR)", 2)
    try:
        asyncio.run(run_apps(settings, apps))
    except AlreadyRunning as exc:
        fail(str(exc), 2)
    except DatabaseError as exc:
        fail(f"cannot use the data dir {settings.data_dir}: {exc}", 2)


def _print_version(value: bool) -> None:
    if not value:
        return
    from chat_adapters.version_info import version_lines
    from session_core.claude_cli import choose_cli

    try:
        settings = load_settings()
        choice = choose_cli(settings.claude_cli, settings.search_path)
    except SettingsError as exc:
        typer.echo(f"baton: bad setting ({exc}); showing the bundled CLI", err=True)
        choice = choose_cli(None, "")
    typer.echo("\n".join(version_lines(choice)))
    raise typer.Exit()


@cli.callback()
def _options(
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
    pass


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

    raise typer.Exit(show_audit(settings_or_exit(), since, user, as_json, limit))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
