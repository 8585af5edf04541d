"""The Telegram app: python-telegram-bot started inside our event loop, until stopped.

``run_polling`` would own the loop, and Discord shares it, so the application is
driven by hand: ``initialize`` → ``start`` → ``updater.start_polling``, and the reverse
when ``stopping`` is set. Pending updates are never dropped: what people sent while the
bot was down is handled when it comes back. Updates run concurrently (a press of Stop
must not wait for anything); :class:`~chat_adapters.telegram.updates.UpdateRouter`
keeps each chat's messages in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from chat_adapters.background import BackgroundTasks
from chat_adapters.commands import commands_for
from chat_adapters.dispatch import ChatDispatcher
from chat_adapters.interactions import Interactions, press_check
from chat_adapters.recovery import chat_ids, recover_prompts
from chat_adapters.surface import Surface
from chat_adapters.telegram.api import call_api
from chat_adapters.telegram.updates import UpdateRouter
from chat_adapters.voice import VoicePrompts
from storage import InboundPrompt

log = structlog.get_logger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]
ALLOWED_UPDATES = ("message", "callback_query")
CONCURRENT_UPDATES = 64
STEP_TIMEOUT_S = 15.0
"""Bound on each start-up and shutdown step."""
WATCH_INTERVAL_S = 1.0


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    api_url: str = "https://api.telegram.org"
    """The Bot API root (a local Bot API server, or a test double)."""
    poll_timeout_s: float = 10.0
    """Long-poll length of ``getUpdates``."""
    voice: VoicePrompts = field(default_factory=lambda: VoicePrompts(None))
    """Turns voice notes into prompts (or says how to enable it)."""
    notify_after_s: float | None = None
    """A turn longer than this ends with a new message that notifies."""
    drafts: bool = False
    """Private chats stream as message drafts (``sendMessageDraft``)."""

    def __repr__(self) -> str:  # never print the token
        return f"TelegramConfig(api_url={self.api_url!r}, poll_timeout_s={self.poll_timeout_s})"


class PollingStopped(RuntimeError):
    """PTB stopped fetching updates on its own (the token was revoked, say)."""


def build_application(config: TelegramConfig) -> App:
    root = config.api_url.rstrip("/")
    return (
        ApplicationBuilder()
        .token(config.token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .concurrent_updates(CONCURRENT_UPDATES)
        # Room for the shutdown's last getUpdates (which confirms what was fetched)
        # while the abandoned long poll still holds its connection.
        .get_updates_connection_pool_size(2)
        .build()
    )


async def run_telegram(
    dispatcher: ChatDispatcher,
    config: TelegramConfig,
    stopping: asyncio.Event,
    background: BackgroundTasks | None = None,
) -> None:
    """Serve Telegram until ``stopping`` is set; raise on a fatal error (the supervisor
    restarts with backoff). ``background`` owns work that outlives its caller."""
    # PTB itself reads RetryAfter.retry_after while building the error; we convert it.
    warnings.filterwarnings("ignore", ".*retry_after.*", PTBDeprecationWarning)
    app = build_application(config)
    interactions = Interactions(
        "telegram", dispatcher.db.pending, gate=press_check(dispatcher.presses, "telegram")
    )
    router = UpdateRouter(
        dispatcher,
        app.bot,
        interactions,
        voice=config.voice,
        notify_after_s=config.notify_after_s,
        drafts=config.drafts,
        background=background,
    )
    app.add_handler(TypeHandler(Update, router.handle))
    app.add_error_handler(_log_error)
    recovery: asyncio.Task[int] | None = None
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await app.initialize()
        await _register_commands(app)
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(
                timeout=timedelta(seconds=config.poll_timeout_s),
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        log.info("telegram_started", bot=app.bot.username)
        recovery = asyncio.create_task(recover_telegram(dispatcher, router), name="tg-recovery")
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WATCH_INTERVAL_S):
                    await stopping.wait()
            if not stopping.is_set() and not app.updater.running:
                raise PollingStopped("Telegram polling stopped")
    finally:
        if recovery is not None:
            recovery.cancel()
        await _shutdown(app, router)


async def recover_telegram(dispatcher: ChatDispatcher, router: UpdateRouter) -> int:
    """Prompts a crash left unfinished, run again in the chats (or topics) they came from."""

    async def surface_for(prompt: InboundPrompt) -> Surface:
        return router.surface(*chat_ids(prompt.chat))

    return await recover_prompts(dispatcher, "telegram", surface_for)


async def _register_commands(app: App) -> None:
    """The command menu from the single command list; a failure here is not fatal."""
    commands = [BotCommand(c.name, c.description) for c in commands_for("telegram")]
    try:
        await call_api(lambda: app.bot.set_my_commands(commands))
    except TelegramError as exc:
        log.warning("telegram_set_commands_failed", error=repr(exc))


async def _shutdown(app: App, router: UpdateRouter) -> None:
    """Stop fetching, handle what was fetched, deliver what is queued, close; each step
    bounded."""
    steps: list[tuple[str, Any]] = []
    if app.updater is not None and app.updater.running:
        steps.append(("updater_stop", app.updater.stop))
    if app.running:
        steps.append(("app_stop", app.stop))  # handles the updates already fetched
    steps.append(("router_close", router.aclose))
    steps.append(("app_shutdown", app.shutdown))
    for name, step in steps:
        try:
            async with asyncio.timeout(STEP_TIMEOUT_S):
                await step()
        except Exception as exc:
            log.warning("telegram_shutdown_step_failed", step=name, error=repr(exc))
    log.info("telegram_stopped")


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    log.error(
        "telegram_update_failed",
        error=repr(error),
        update_id=update.update_id if isinstance(update, Update) else None,
        exc_info=error,
    )
