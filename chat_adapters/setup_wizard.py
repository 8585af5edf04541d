"""`baton setup`: walk through what is missing, with the exact steps, and write `.env`.

Each step first says what is already set (and proves a token works by asking the
platform), then explains what to do on the platform's side and asks for the value.
Everything typed can be piped in, one answer per line, so the walk-through is tested
the way a person uses it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer

from chat_adapters import platform_probe as probe
from chat_adapters.env_file import read_env, write_env
from chat_adapters.settings import Settings, SettingsError, load_settings

TELEGRAM_STEPS = """\
  1. In Telegram, open a chat with @BotFather and send /newbot.
  2. Give the bot a name, then a username ending in "bot".
  3. BotFather answers with a token like 123456789:AA...; paste it below.
  For groups: with privacy mode on (the default) the bot sees only /commands and replies
  to it. To talk to it in plain messages in a group: @BotFather → /mybots → your bot →
  Bot Settings → Group Privacy → Turn off, then remove the bot from the group and add it again.
"""

DISCORD_STEPS = """\
  1. Open https://discord.com/developers/applications and click New Application.
  2. Bot → Reset Token → copy the token; paste it below.
  3. Bot → Privileged Gateway Intents → turn on Message Content Intent (without it the bot
     reads no plain messages in session threads; slash commands still work).
  4. Add the bot to your server with the invite URL printed after the token is checked.
"""

DISCORD_ID_STEPS = """\
  Your Discord user id: Discord → User Settings → Advanced → Developer Mode on; then
  right-click your name → Copy User ID.
"""


@dataclass(slots=True)
class Answers:
    """What the walk-through will write; only changed keys go to the file."""

    values: dict[str, str] = field(default_factory=dict)


def _ask(text: str, default: str = "", *, show_default: bool = True) -> str:
    # Hidden input only at a terminal: getpass reads /dev/tty, not piped answers.
    secret = "token" in text.lower() and sys.stdin.isatty()
    answer: str = typer.prompt(
        text, default=default, show_default=show_default and bool(default), hide_input=secret
    )
    return answer.strip()


def _yes(text: str) -> bool:
    return _ask(f"{text} [Y/n]", default="y", show_default=False).lower() in ("y", "yes")


def _current(env_path: Path) -> Settings | None:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"The current settings have a problem: {exc}. Setup will ask again.")
        return None


def run_setup(env_path: Path, *, listen_timeout_s: float = 120.0) -> int:
    settings = _current(env_path)
    had = read_env(env_path)
    answers = Answers()
    typer.echo(f"baton setup: answers go to {env_path} (readable by you only).\n")
    telegram_token = _telegram(settings, answers)
    _discord(settings, answers)
    _allowed_users(settings, answers, telegram_token, listen_timeout_s)
    _roots(settings, answers)
    changed = {k: v for k, v in answers.values.items() if had.get(k) != v}
    if changed:
        write_env(env_path, changed)
        typer.echo(f"\nWrote {', '.join(changed)} to {env_path} (mode 0600).")
    else:
        typer.echo(f"\nNothing to change in {env_path}.")
        if env_path.exists():
            os.chmod(env_path, 0o600)
    typer.echo("Next: `baton doctor` checks everything; `baton run` starts the bot")
    typer.echo("(or `baton service install` to keep it running).")
    return 0


def _retrying(check: Callable[[str], object], prompt: str) -> tuple[str, object] | None:
    """Ask for a token until the platform accepts it; an empty answer skips."""
    for _ in range(3):
        token = _ask(prompt)
        if not token:
            return None
        try:
            return token, check(token)
        except probe.ProbeError as exc:
            typer.echo(f"  That token did not work: {exc}")
    return None


def _telegram(settings: Settings | None, answers: Answers) -> str | None:
    typer.echo("1/4 Telegram")
    api_url = settings.telegram_api_url if settings else "https://api.telegram.org"
    token = _secret(settings.telegram_bot_token if settings else None)
    bot: probe.TelegramBot | None = None
    if token:
        try:
            bot = probe.telegram_get_me(api_url, token)
        except probe.ProbeError as exc:
            typer.echo(f"  TELEGRAM_BOT_TOKEN is set but does not work: {exc}")
            token = None
    if bot is None:
        typer.echo(TELEGRAM_STEPS)
        got = _retrying(lambda t: probe.telegram_get_me(api_url, t), "Telegram bot token")
        if got is None:
            typer.echo("  Skipped Telegram.\n")
            return token
        token, checked = got
        assert isinstance(checked, probe.TelegramBot)
        bot = checked
        answers.values["TELEGRAM_BOT_TOKEN"] = token
    typer.echo(f"  ok: the token works for @{bot.username}.")
    if not bot.reads_group_messages:
        typer.echo(
            "  Privacy mode is on: fine for a private chat; in groups the bot sees only "
            "/commands and replies (see the steps above to turn it off)."
        )
    typer.echo("")
    return token


def _discord(settings: Settings | None, answers: Answers) -> None:
    typer.echo("2/4 Discord")
    api_url = settings.discord_api_url if settings else "https://discord.com/api"
    token = _secret(settings.discord_bot_token if settings else None)
    app: probe.DiscordApp | None = None
    if token:
        try:
            app = probe.discord_application(api_url, token)
        except probe.ProbeError as exc:
            typer.echo(f"  DISCORD_BOT_TOKEN is set but does not work: {exc}")
    if app is None:
        typer.echo(DISCORD_STEPS)
        got = _retrying(lambda t: probe.discord_application(api_url, t), "Discord bot token")
        if got is None:
            typer.echo("  Skipped Discord.\n")
            return
        token, checked = got
        assert isinstance(checked, probe.DiscordApp)
        app = checked
        answers.values["DISCORD_BOT_TOKEN"] = token
    typer.echo(f"  ok: the token works for the application {app.name!r} ({app.id}).")
    if not app.message_content:
        typer.echo("  Message Content Intent is off: turn it on (step 3) for session threads.")
    permissions = ", ".join(probe.DISCORD_PERMISSIONS)
    typer.echo(f"  Invite it (scopes {' + '.join(probe.DISCORD_SCOPES)}; {permissions}):")
    typer.echo(f"  {probe.discord_invite_url(app.id)}\n")


def _allowed_users(
    settings: Settings | None, answers: Answers, telegram_token: str | None, listen_s: float
) -> None:
    typer.echo("3/4 Who may use the bot")
    users: set[tuple[str, str]] = set(settings.allowed_users) if settings else set()
    if users:
        typer.echo(f"  Allowed now: {_users_text(users)}")
    api_url = settings.telegram_api_url if settings else "https://api.telegram.org"
    if telegram_token and not any(app == "telegram" for app, _ in users):
        found = _listen_telegram(api_url, telegram_token, listen_s)
        if found:
            users.add(("telegram", found))
    typed = _ask("  Telegram user ids to allow, comma-separated (Enter: none)")
    users |= {("telegram", i) for i in _ids(typed)}
    typer.echo(DISCORD_ID_STEPS)
    typed = _ask("  Discord user ids to allow, comma-separated (Enter: none)")
    users |= {("discord", i) for i in _ids(typed)}
    if users:
        answers.values["BATON_ALLOWED_USERS"] = _users_text(users)
    else:
        typer.echo("  Nobody is allowed yet: the bot will refuse everyone.")
    typer.echo("")


def _listen_telegram(api_url: str, token: str, listen_s: float) -> str | None:
    """Offer to learn the person's Telegram id from one message they send the bot."""
    if not _yes("  Find your Telegram id by sending your bot any message now?"):
        return None
    typer.echo(f"  Waiting up to {listen_s:.0f} s for a message to the bot ...")
    try:
        sender = probe.telegram_wait_for_sender(api_url, token, listen_s)
    except probe.ProbeError as exc:
        typer.echo(f"  No id: {exc}")
        return None
    typer.echo(f"  Message from {sender.name or 'someone'}: user id {sender.user_id}")
    return str(sender.user_id) if _yes(f"  Allow telegram:{sender.user_id}?") else None


def _roots(settings: Settings | None, answers: Answers) -> None:
    typer.echo("4/4 Project directories (BATON_ROOTS)")
    typer.echo("  The bot works only inside these; the first is where chats start.")
    # Only roots set before are offered: the current directory is where `.env` lives,
    # rarely where the projects are.
    explicit = settings is not None and "roots" in settings.model_fields_set
    current = os.pathsep.join(str(r) for r in settings.roots) if settings and explicit else ""
    while True:
        typed = _ask(f"  Directories, separated by '{os.pathsep}' (e.g. ~/code)", default=current)
        roots = [Path(p).expanduser() for p in typed.split(os.pathsep) if p.strip()]
        missing = [str(r) for r in roots if not r.is_dir()]
        if roots and not missing:
            answers.values["BATON_ROOTS"] = os.pathsep.join(str(r.resolve()) for r in roots)
            return
        typer.echo(f"  Not a directory: {', '.join(missing) or '(none given)'}")


def _ids(text: str) -> list[str]:
    found = [part.strip() for part in text.split(",") if part.strip()]
    bad = [part for part in found if not part.isdigit()]
    if bad:
        typer.echo(f"  Ignored (not a numeric id): {', '.join(bad)}")
    return [part for part in found if part.isdigit()]


def _users_text(users: set[tuple[str, str]]) -> str:
    return ",".join(f"{app}:{user_id}" for app, user_id in sorted(users))


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    secret = getter() if getter else None
    return secret if isinstance(secret, str) and secret else None
