"""`baton sessions`: the sessions a person can continue, as a table or JSON."""

from __future__ import annotations

import json

import typer

from chat_adapters.cli.common import directory_or_exit, discovery_or_exit
from chat_adapters.relative_time import ago
from session_core.catalog import SessionSummary


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


def list_sessions(
    directory: str | None, all_projects: bool, as_json: bool, limit: int | None
) -> None:
    discovery = discovery_or_exit()
    where = None if all_projects else directory_or_exit(discovery.roots, directory)
    found = discovery.catalog.list(directory=where, limit=limit)
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
