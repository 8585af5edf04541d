"""`baton audit`: who did what, from the audit log (storage.audit), as a table or JSON.

Reads the database the bot writes; a missing database means nothing was audited yet,
and it is not created just to be read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from session_core.vocabulary import APPS
from storage.audit import AuditEntry
from storage.database import Database

_SPAN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class AuditQueryError(ValueError):
    """A --since or --user value that cannot be read, phrased for the command line."""


@dataclass(frozen=True, slots=True)
class AuditQuery:
    since: datetime | None = None
    app: str | None = None
    user_id: str | None = None
    limit: int = 1000


def parse_since(text: str, now: datetime) -> datetime:
    """``30m``, ``12h``, ``1d``, ``2w`` before ``now``, or an ISO date/time (UTC if naive)."""
    span = _SPAN.match(text)
    if span:
        return now - timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AuditQueryError(
            f"--since {text!r}: use a span like 30m, 12h, 1d, 2w or a date like 2026-12-01"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_user(text: str) -> tuple[str | None, str]:
    """``telegram:123``, ``discord:456`` or a bare ``123`` (any app)."""
    app, sep, user_id = text.strip().rpartition(":")
    if not user_id.isdigit() or (sep and app not in (*APPS, "cli")):
        raise AuditQueryError(f"--user {text!r}: use telegram:<id>, discord:<id> or <id>")
    return (app if sep else None), user_id


async def read_audit(db_path: Path, query: AuditQuery) -> list[AuditEntry]:
    """The matching entries, oldest first."""
    async with Database.open(db_path) as database:
        return await database.audit.search(
            since=query.since, app=query.app, user_id=query.user_id, limit=query.limit
        )


def entry_json(entry: AuditEntry) -> dict[str, object]:
    return {
        "at": entry.at.isoformat().replace("+00:00", "Z"),
        "app": entry.app,
        "user_id": entry.user_id,
        "chat_id": entry.chat_id,
        "action": entry.action,
        "allowed": entry.allowed,
        "detail": entry.detail,
    }


def render_json(entries: list[AuditEntry]) -> str:
    return json.dumps([entry_json(e) for e in entries], ensure_ascii=False, indent=1)


def render_table(entries: list[AuditEntry]) -> list[str]:
    """One line per entry: UTC time, who, where, refused or not, what."""
    lines = [f"{'WHEN (UTC)':19}  {'WHO':22}  {'CHAT':14}  {'':7}  ACTION / DETAIL"]
    for e in entries:
        who = f"{e.app}:{e.user_id}"
        verdict = "ok" if e.allowed else "REFUSED"
        detail = " ".join(e.detail.split())
        what = e.action if not detail or detail == e.action else f"{e.action}: {detail}"
        if len(what) > 80:
            what = what[:79] + "…"
        lines.append(
            f"{e.at.strftime('%Y-%m-%d %H:%M:%S'):19}  {who:22}  {e.chat_id:14}  "
            f"{verdict:7}  {what}"
        )
    return lines
