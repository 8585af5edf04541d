"""`baton run`: the configured chat apps in one process until Ctrl-C."""

from __future__ import annotations

import asyncio

from chat_adapters.app import run_apps
from chat_adapters.cli.common import fail, settings_or_exit
from chat_adapters.single_instance import AlreadyRunning


def run() -> None:
    settings = settings_or_exit(cli_logging=False)
    apps = settings.configured_apps()
    if not apps:
        fail("no app configured: set TELEGRAM_BOT_TOKEN and/or DISCORD_BOT_TOKEN", 2)
    try:
        asyncio.run(run_apps(settings, apps))
    except AlreadyRunning as exc:
        fail(str(exc), 2)
