"""`baton doctor`: what is set up, what is missing, in one screen.

Each check yields a line marked ok / warn / FAIL; any FAIL makes the exit status 1, so
the command doubles as a deployment health check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import typer

from chat_adapters.cli.common import settings_or_exit
from chat_adapters.private_data import open_to_others, privacy_fix
from chat_adapters.settings import Settings, process_environment
from session_core.claude_cli import CliChoice, choose_cli
from session_core.claude_home import ClaudeHome
from session_core.history_index import HistoryIndex
from session_core.roots import ApprovedRoots
from storage.database import Database

Level = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True, slots=True)
class Check:
    level: Level
    name: str
    detail: str


def _core_checks(settings: Settings) -> Iterator[Check]:
    home = ClaudeHome(settings.claude_config_dir)
    if home.config_dir.is_dir():
        yield Check("ok", "claude config dir", str(home.config_dir))
    else:
        yield Check("warn", "claude config dir", f"{home.config_dir} does not exist yet")
    if home.history_path.exists():
        index = HistoryIndex(home.history_path)
        index.refresh()
        stats = index.stats
        level: Level = "warn" if stats.skipped else "ok"
        yield Check(
            level,
            "history.jsonl",
            f"{stats.lines} lines, {stats.sessions} sessions, {stats.skipped} skipped lines",
        )
    else:
        yield Check("warn", "history.jsonl", f"{home.history_path} not found (no sessions yet)")
    yield from cli_checks(
        choose_cli(settings.claude_cli, settings.search_path, process_environment(settings))
    )
    yield Check("ok", "approved roots", ApprovedRoots(settings.roots).describe())
    apps = settings.configured_apps()
    if apps:
        yield Check("ok", "apps", ", ".join(apps))
    else:
        yield Check("FAIL", "apps", "none: set TELEGRAM_BOT_TOKEN and/or DISCORD_BOT_TOKEN")
    open_paths = open_to_others(settings.data_dir)
    if open_paths:
        yield Check(
            "warn",
            "data dir",
            f"{len(open_paths)} path(s) under {settings.data_dir} readable by others "
            f"(e.g. {open_paths[0]}); fix: {privacy_fix(settings.data_dir)}",
        )
    else:
        yield Check("ok", "data dir", f"{settings.data_dir} is private (0700 / 0600)")
    if not settings.allowed_users:
        yield Check("warn", "allowed users", "BATON_ALLOWED_USERS is empty: nobody may use the bot")
    else:
        yield Check("ok", "allowed users", f"{len(settings.allowed_users)}")


def cli_checks(cli: CliChoice | None) -> Iterator[Check]:
    """Both CLIs' versions and which one runs turns (see session_core.claude_cli)."""
    if cli is None:
        return
    bundled = cli.bundled
    if bundled.version:
        yield Check("ok", "bundled claude CLI", f"{bundled.version} ({bundled.path})")
    else:
        yield Check("FAIL", "bundled claude CLI", f"{bundled.path} did not answer --version")
    if cli.user is not None:
        level: Level = "ok" if cli.user.version else "warn"
        found = cli.user.version or "no answer to --version"
        yield Check(level, "your claude CLI", f"{found} ({cli.user.path})")
    else:
        yield Check("ok", "your claude CLI", "none on PATH and no BATON_CLAUDE_CLI")
    level = "warn" if cli.notice else "ok"
    if cli.version is None:
        level = "FAIL"
    yield Check(level, "turns run on", cli.describe())


async def run_doctor(settings: Settings) -> int:
    checks = list(_core_checks(settings))
    db_path = settings.data_dir / "baton.sqlite3"
    try:
        database = await Database.open(db_path)
    except Exception as exc:  # any failure here is the finding itself
        checks.append(Check("FAIL", "database", f"{db_path}: {exc}"))
    else:
        checks.append(
            Check("ok", "database", f"{db_path} (migration {database.migration_version})")
        )
        await database.close()
    checks.extend(await _platform_checks(settings))
    for check in checks:
        typer.echo(f"{check.level:>4}  {check.name}: {check.detail}")
    return 1 if any(c.level == "FAIL" for c in checks) else 0


async def _platform_checks(settings: Settings) -> list[Check]:
    from pathlib import Path

    from chat_adapters.doctor_platforms import platform_checks

    return await platform_checks(settings, Path.cwd() / ".env")


def doctor() -> None:
    raise typer.Exit(asyncio.run(run_doctor(settings_or_exit())))
