"""What keeps the bot's state bounded over weeks of running: expired pending choices
leave the database and old inbox files leave the disk, at start-up and once a day."""

from __future__ import annotations

import asyncio

import structlog

from chat_adapters.inbox import Inbox
from storage import PendingChoices

log = structlog.get_logger(__name__)

EVERY_S = 24 * 3600.0


async def tidy_once(inbox: Inbox, pending: PendingChoices) -> None:
    try:
        await asyncio.to_thread(inbox.clean)
    except Exception:
        log.exception("inbox_clean_failed")
    try:
        purged = await pending.purge_expired()
        if purged:
            log.info("pending_choices_purged", purged=purged)
    except Exception:
        log.exception("pending_purge_failed")


async def keep_tidy(inbox: Inbox, pending: PendingChoices, every_s: float = EVERY_S) -> None:
    """Tidy now, then every ``every_s`` until cancelled."""
    while True:
        await tidy_once(inbox, pending)
        await asyncio.sleep(every_s)
