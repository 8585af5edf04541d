"""The `baton audit` command: options read, the log shown (see chat_adapters.audit_view)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import typer

from chat_adapters.audit_view import (
    AuditQuery,
    AuditQueryError,
    parse_since,
    parse_user,
    read_audit,
    render_json,
    render_table,
)
from chat_adapters.settings import Settings


def show_audit(
    settings: Settings, since: str | None, user: str | None, as_json: bool, limit: int
) -> int:
    try:
        app, user_id = parse_user(user) if user else (None, None)
        query = AuditQuery(
            since=parse_since(since, datetime.now(UTC)) if since else None,
            app=app,
            user_id=user_id,
            limit=limit,
        )
    except AuditQueryError as exc:
        typer.echo(f"baton: {exc}", err=True)
        return 2
    db_path = settings.data_dir / "baton.sqlite3"
    # A missing database means nothing was audited yet: do not create one to read it.
    entries = asyncio.run(read_audit(db_path, query)) if db_path.exists() else None
    if as_json:
        typer.echo(render_json(entries or []))
    elif entries is None:
        typer.echo(f"No audit log yet ({db_path} does not exist).")
    elif not entries:
        typer.echo("No audit entries match.")
    else:
        typer.echo("\n".join(render_table(entries)))
    return 0
