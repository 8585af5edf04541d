"""`baton doctor`'s set-up checks: the tokens work (asked of Telegram and Discord), the
Discord app has its intent, each configured app has someone allowed, `.env` is private.

Kept apart from chat_adapters.cli.doctor so the core checks and these grow independently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

from chat_adapters import platform_probe as probe
from chat_adapters.cli.doctor import Check
from chat_adapters.settings import Settings


async def platform_checks(settings: Settings, env_file: Path) -> list[Check]:
    return await asyncio.to_thread(lambda: list(_checks(settings, env_file)))


def _checks(settings: Settings, env_file: Path) -> Iterator[Check]:
    if settings.telegram_bot_token is not None:
        yield from _telegram(settings, settings.telegram_bot_token.get_secret_value())
    if settings.discord_bot_token is not None:
        yield from _discord(settings, settings.discord_bot_token.get_secret_value())
    allowed_apps = {app for app, _ in settings.allowed_users}
    for app in settings.configured_apps():
        if app not in allowed_apps:
            yield Check(
                "warn",
                f"{app} users",
                f"no {app}:<id> in BATON_ALLOWED_USERS: nobody can use it "
                "(baton setup finds your id)",
            )
    if "roots" not in settings.model_fields_set:
        yield Check(
            "warn",
            "BATON_ROOTS",
            f"not set: the bot works only in the current directory ({settings.roots[0]}); "
            "set it to your projects (baton setup asks)",
        )
    if env_file.is_file() and env_file.stat().st_mode & 0o077:
        yield Check("warn", ".env", f"{env_file} is readable by others: chmod 600 {env_file}")


def _telegram(settings: Settings, token: str) -> Iterator[Check]:
    try:
        bot = probe.telegram_get_me(settings.telegram_api_url, token)
    except probe.ProbeError as exc:
        yield Check("FAIL", "telegram token", f"getMe failed: {exc}")
        return
    privacy = "" if bot.reads_group_messages else " (privacy mode on: groups see /commands only)"
    yield Check("ok", "telegram token", f"@{bot.username}{privacy}")


def _discord(settings: Settings, token: str) -> Iterator[Check]:
    try:
        app = probe.discord_application(settings.discord_api_url, token)
    except probe.ProbeError as exc:
        yield Check("FAIL", "discord token", f"application lookup failed: {exc}")
        return
    yield Check("ok", "discord token", f"application {app.name!r} ({app.id})")
    if app.message_content:
        yield Check("ok", "discord intent", "Message Content on")
    else:
        yield Check(
            "warn",
            "discord intent",
            "Message Content off: session threads need it (developer portal → Bot)",
        )
    yield Check("ok", "discord invite", probe.discord_invite_url(app.id))
