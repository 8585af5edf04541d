"""`baton audit` reads the audit log the bot wrote: filters by time and user, JSON or table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chat_adapters.audit_view import AuditQueryError, parse_since, parse_user
from storage import Database

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _audit(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "BATON_DATA_DIR": str(tmp_path / "data"),
        "BATON_ROOTS": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "-m", "chat_adapters", "audit", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _write_log(tmp_path: Path) -> None:
    moments = iter([datetime.now(UTC) - timedelta(days=3), datetime.now(UTC)] * 3)
    async with Database.open(
        tmp_path / "data" / "baton.sqlite3", clock=lambda: next(moments)
    ) as db:
        audit = db.audit
        await audit.record(app="telegram", user_id=666, chat_id=666, action="text", allowed=False)
        await audit.record(
            app="telegram", user_id=1, chat_id=1, action="approve", detail="Bash: ls", allowed=True
        )
        await audit.record(app="discord", user_id=2, chat_id="9/10", action="mode", allowed=True)
        await audit.record(app="telegram", user_id=1, chat_id=1, action="fork", allowed=True)


async def test_audit_shows_who_did_what_filtered(tmp_path: Path) -> None:
    assert "No audit log yet" in _audit(tmp_path).stdout
    assert not (tmp_path / "data").exists()  # reading does not create the database
    await _write_log(tmp_path)

    table = _audit(tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("WHEN (UTC)") and len(lines) == 5
    assert "telegram:666" in lines[1] and "REFUSED" in lines[1]
    assert "discord:2" in lines[2] and "mode" in lines[2]
    assert "approve: Bash: ls" in lines[3] and "ok" in lines[3]

    recent = json.loads(_audit(tmp_path, "--since", "1d", "--json").stdout)
    assert [(e["app"], e["action"]) for e in recent] == [
        ("telegram", "approve"),
        ("telegram", "fork"),
    ]
    assert recent[0]["allowed"] is True and recent[0]["at"].endswith("Z")

    mine = json.loads(_audit(tmp_path, "--user", "telegram:1", "--json").stdout)
    assert [e["action"] for e in mine] == ["approve", "fork"]
    anyone_2 = json.loads(_audit(tmp_path, "--user", "2", "--json").stdout)
    assert [e["chat_id"] for e in anyone_2] == ["9/10"]

    bad = _audit(tmp_path, "--since", "yesterday")
    assert bad.returncode == 2 and "--since 'yesterday'" in bad.stderr


def test_since_reads_spans_and_dates() -> None:
    assert parse_since("90m", NOW) == NOW - timedelta(minutes=90)
    assert parse_since("1d", NOW) == NOW - timedelta(days=1)
    assert parse_since("2w", NOW) == NOW - timedelta(weeks=2)
    assert parse_since("2026-12-01", NOW) == datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(AuditQueryError):
        parse_since("1y", NOW)


def test_user_reads_app_and_id() -> None:
    assert parse_user("telegram:42") == ("telegram", "42")
    assert parse_user("42") == (None, "42")
    for bad in ("slack:42", "telegram:", "bob"):
        with pytest.raises(AuditQueryError):
            parse_user(bad)
