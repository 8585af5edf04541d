"""`baton run`: the configured chat apps in one process until Ctrl-C."""

from __future__ import annotations

import asyncio

from chat_adapters.app import run_apps
from chat_adapters.cli.common import fail, settings_or_exit
from chat_adapters.data_dir import data_dir_problem
from chat_adapters.single_instance import AlreadyRunning
from storage import DatabaseError


def run() -> None:
    settings = settings_or_exit(cli_logging=False)
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
