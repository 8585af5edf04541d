"""`baton ask`: one turn from the terminal, streamed, recorded like the chats' turns."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer

from chat_adapters.app import Core, build_core, open_database
from chat_adapters.cli.common import directory_or_exit, fail, settings_or_exit
from session_core.catalog import AmbiguousSession, UnknownSession
from session_core.events import TextDelta, ToolStarted, TurnFinished, TurnStarted
from session_core.roots import OutsideRoots


def ask(prompt: str, directory: str | None, session: str | None, new: bool) -> None:
    if session and new:
        fail("--session and --new exclude each other", 2)
    core = build_core(settings_or_exit())
    where = directory_or_exit(core.roots, directory)
    session_id = None
    if session:
        try:
            summary = core.catalog.resolve(session)
            core.roots.check(summary.project)
        except (UnknownSession, AmbiguousSession, OutsideRoots) as exc:
            fail(str(exc))
        session_id = summary.session_id
    finished = asyncio.run(_ask(core, prompt, where, session_id, new))
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
