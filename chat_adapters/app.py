"""Composition root: builds the session layer, storage and apps from the settings.

The only place (with ``__main__`` and ``settings``) that sees every package. Each
piece below receives explicit arguments, so tests can build the same graph by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from chat_adapters.background import BackgroundTasks
from chat_adapters.chat_services import ChatPolicy
from chat_adapters.dispatch import ChatDispatcher
from chat_adapters.logs import configure_logging
from chat_adapters.private_data import prepare_data_dir
from chat_adapters.redaction import Redactor
from chat_adapters.settings import Settings, split_environment
from chat_adapters.single_instance import token_locks
from chat_adapters.voice import VoicePrompts, voice_from
from session_core.catalog import SessionCatalog
from session_core.child_guard import reap_orphans
from session_core.claude_cli import CliChoice, choose_cli
from session_core.claude_home import ClaudeHome
from session_core.history_index import HistoryIndex
from session_core.roots import ApprovedRoots
from session_core.runner import TurnRunner
from session_core.turn_source import TurnSource
from session_core.vocabulary import ENTRYPOINT, AppName
from storage.database import Database

log = structlog.get_logger(__name__)


BACKGROUND_DRAIN_S = 5.0
"""At shutdown, background work (last edits, settling prompts) gets this long."""


@dataclass(frozen=True, slots=True)
class Core:
    """The session layer as every door uses it."""

    settings: Settings
    home: ClaudeHome
    roots: ApprovedRoots
    index: HistoryIndex
    catalog: SessionCatalog
    runner: TurnRunner
    turns: TurnSource
    """What the chats run turns through: ``runner``, unless a test plays scripted turns."""
    redactor: Redactor
    cli: CliChoice | None = None


def build_core(settings: Settings, turns: TurnSource | None = None) -> Core:
    """The session layer for ``settings``; ``turns`` replaces the real ``TurnRunner``
    (the app suites play scripted turns through it)."""
    # From here on the bot's tokens live only in ``settings``, never in a child's env.
    claude_env = split_environment(settings)
    home = ClaudeHome(settings.claude_config_dir)
    cli = choose_cli(settings.claude_cli, settings.search_path, claude_env)
    index = HistoryIndex(home.history_path)
    catalog = SessionCatalog(home, index=index, own_entrypoint=ENTRYPOINT)
    roots = ApprovedRoots(settings.roots)
    runner = TurnRunner(
        home,
        catalog,
        base_env={
            **claude_env,
            "CLAUDE_CONFIG_DIR": str(home.config_dir),
            **_claude_credentials(settings),
        },
        model=settings.model,
        max_turns=settings.max_turns,
        max_budget_usd=settings.max_budget_usd,
        idle_timeout_s=settings.idle_timeout_s,
        max_live_clients=settings.max_live_clients,
        claims_dir=settings.data_dir / "claims",
        cli_path=cli.sdk_path,
        allow_bypass=settings.allow_bypass,
        roots=roots,
    )
    return Core(
        settings=settings,
        home=home,
        roots=roots,
        index=index,
        catalog=catalog,
        runner=runner,
        turns=turns or runner,
        redactor=Redactor.with_secrets(settings.secrets()),
        cli=cli,
    )


def _claude_credentials(settings: Settings) -> dict[str, str]:
    key = settings.anthropic_api_key
    return {"ANTHROPIC_API_KEY": key} if key else {}


def setup_logging(settings: Settings) -> Redactor:
    redactor = Redactor.with_secrets(settings.secrets())
    configure_logging(settings.log_level, settings.log_format, redactor)
    return redactor


async def open_database(settings: Settings) -> Database:
    prepare_data_dir(settings.data_dir)
    return await Database.open(settings.data_dir / "baton.sqlite3")


def build_dispatcher(core: Core, database: Database, background: BackgroundTasks) -> ChatDispatcher:
    settings = core.settings
    policy = ChatPolicy(
        allowed_users=settings.allowed_users,
        verbosity=settings.verbosity,
        model=settings.model,
        permission_mode=settings.permission_mode,
        allow_bypass=settings.allow_bypass,
        approval_timeout_s=settings.approval_timeout_s,
        audit_days=settings.audit_days,
        approvers=settings.approvers,
        claude_code=core.cli.chat_line() if core.cli else "",
        max_queued=settings.max_queued,
        inbox_days=settings.inbox_days,
        warm_new_sessions=settings.warm_new_sessions,
    )
    return ChatDispatcher(
        runner=core.turns,
        catalog=core.catalog,
        roots=core.roots,
        database=database,
        policy=policy,
        redactor=core.redactor,
        inbox_dir=settings.data_dir / "inbox",
        background=background,
    )


AppRunner = Callable[[ChatDispatcher, asyncio.Event], Awaitable[None]]


def _app_runner(
    app: AppName, settings: Settings, voice: VoicePrompts, background: BackgroundTasks
) -> AppRunner:
    """Import an app only when it is configured, so one broken app never stops the other."""
    if app == "telegram":
        from chat_adapters.telegram.bot import TelegramConfig, run_telegram

        assert settings.telegram_bot_token is not None
        telegram = TelegramConfig(
            token=settings.telegram_bot_token.get_secret_value(),
            api_url=settings.telegram_api_url.rstrip("/"),
            voice=voice,
            notify_after_s=settings.notify_after_s,
            drafts=settings.telegram_drafts,
        )
        return lambda dispatcher, stopping: run_telegram(dispatcher, telegram, stopping, background)
    from chat_adapters.discord.bot import DiscordConfig, run_discord

    assert settings.discord_bot_token is not None
    discord = DiscordConfig(
        token=settings.discord_bot_token.get_secret_value(),
        api_url=settings.discord_api_url.rstrip("/"),
        gateway_url=settings.discord_gateway_url,
        guild_id=settings.discord_guild_id,
        voice=voice,
        notify_after_s=settings.notify_after_s,
    )
    return lambda dispatcher, stopping: run_discord(dispatcher, discord, stopping, background)


async def serve(
    settings: Settings,
    apps: tuple[AppName, ...],
    stopping: asyncio.Event,
    *,
    turns: TurnSource | None = None,
) -> None:
    """Run the given apps in this event loop, sharing one session layer, until ``stopping``
    (``turns``: see :func:`build_core`).

    Raises :class:`AlreadyRunning` when another process runs one of these apps' tokens.
    """
    prepare_data_dir(settings.data_dir)  # 0700 before anything is written in it
    with token_locks(settings.data_dir / "run", _tokens(settings, apps)):
        await _serve(settings, apps, stopping, turns)


def _tokens(settings: Settings, apps: tuple[AppName, ...]) -> dict[str, str]:
    secrets = {"telegram": settings.telegram_bot_token, "discord": settings.discord_bot_token}
    return {app: token.get_secret_value() for app in apps if (token := secrets[app])}


async def _serve(
    settings: Settings,
    apps: tuple[AppName, ...],
    stopping: asyncio.Event,
    turns: TurnSource | None,
) -> None:
    core = build_core(settings, turns)
    reaped = await asyncio.to_thread(reap_orphans, ENTRYPOINT, core.home.config_dir)
    if reaped:
        log.warning("baton.reaped_orphaned_claude", pids=reaped)
    database = await open_database(settings)
    background = BackgroundTasks()
    dispatcher = build_dispatcher(core, database, background)
    dispatcher.audit.start()  # retention: old audit rows go at start-up and daily
    dispatcher.start_housekeeping()
    log.info("baton.starting", apps=list(apps), roots=[str(r) for r in core.roots.roots])
    _say_which_cli(core.cli)
    apps_stopping = asyncio.Event()
    voice = voice_from(settings)

    async def shut_down_in_order() -> None:
        # Running turns finish their replies while the apps can still deliver them.
        await stopping.wait()
        try:
            await dispatcher.finish_turns()
        finally:
            apps_stopping.set()

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(shut_down_in_order(), name="shutdown")
            for app in apps:
                runner = _app_runner(app, settings, voice, background)
                group.create_task(_supervise(app, runner, dispatcher, apps_stopping), name=app)
            group.create_task(_load_sdk(), name="sdk-import")
    finally:
        await dispatcher.aclose()
        await background.drain(BACKGROUND_DRAIN_S)
        if core.turns is not core.runner:
            await core.turns.aclose()
        await core.runner.aclose()
        await database.close()
        log.info("baton.stopped")


def _say_which_cli(cli: CliChoice | None) -> None:
    """The operator reads in the log which Claude Code answers, and why that one."""
    if cli is None:
        return
    say = log.warning if cli.notice else log.info
    say(
        "baton.claude_cli",
        path=str(cli.path),
        version=cli.version,
        source=cli.source,
        reason=cli.reason,
        bundled=cli.bundled.version,
    )


async def _load_sdk() -> None:
    """Import the SDK connection (the SDK and mcp: over a second) beside the apps' start-up,
    so they connect without waiting for it and the first turn does not pay for it."""
    try:
        await asyncio.to_thread(importlib.import_module, "session_core.sdk_connection")
    except Exception:
        log.exception("baton.sdk_import_failed")  # the first turn will say why


async def run_apps(settings: Settings, apps: tuple[AppName, ...]) -> None:
    """`baton run`: serve until SIGINT/SIGTERM, then stop cleanly."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)
    await serve(settings, apps, stopping)


async def _supervise(
    app: AppName, runner: AppRunner, dispatcher: ChatDispatcher, stopping: asyncio.Event
) -> None:
    """Keep one app running; a crash restarts it with backoff and never touches the other."""
    delay = 1.0
    while not stopping.is_set():
        try:
            await runner(dispatcher, stopping)
            return
        except Exception:
            log.exception("baton.app_crashed", app=app, restart_in_s=delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=delay)
        delay = min(delay * 2, 60.0)
