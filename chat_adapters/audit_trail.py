"""Audit rows written off the hot path, refusals rate-limited, old rows pruned.

Who may use the bot is decided in memory (the allowed-users set); the database only
records it afterwards. So a slow or locked database never turns an allowed person away
nor delays their answer: :meth:`AuditTrail.note` queues the row and returns, and one
background writer stores rows in order, retrying while the database is busy.

A stranger who keeps writing leaves one refusal row per minute (the next row says how
many were left out), and rows older than the retention (``BATON_AUDIT_DAYS``) are
deleted at start-up and once a day.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from storage import Database

log = structlog.get_logger(__name__)

REFUSAL_INTERVAL_S = 60.0
"""At most one refusal row per person per this many seconds."""
MAX_QUEUED = 10_000
"""Rows waiting for a database that stays locked; beyond this the oldest are dropped."""
RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0)
PRUNE_EVERY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class AuditRow:
    app: str
    user_id: str
    chat_id: str
    action: str
    allowed: bool
    detail: str


class AuditTrail:
    """See the module doc. ``start`` begins the retention loop; ``aclose`` flushes."""

    def __init__(
        self,
        database: Database,
        *,
        retention_days: int = 90,
        refusal_interval_s: float = REFUSAL_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._db = database
        self._retention_days = retention_days
        self._interval = refusal_interval_s
        self._clock = clock
        self._sleep = sleep
        self._rows: deque[AuditRow] = deque(maxlen=MAX_QUEUED)
        self._last_refusal: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def note(self, row: AuditRow) -> None:
        """Queue ``row`` (a refusal only if this person's last one is a minute old)."""
        if not row.allowed:
            who = (row.app, row.user_id)
            now = self._clock()
            last = self._last_refusal.get(who)
            if last is not None and now - last < self._interval:
                self._suppressed[who] = self._suppressed.get(who, 0) + 1
                return
            self._last_refusal[who] = now
            if skipped := self._suppressed.pop(who, 0):
                note = f"(+{skipped} earlier refusal{'s' if skipped > 1 else ''} not recorded)"
                row = dataclasses.replace(row, detail=f"{row.detail} {note}".strip())
        self._rows.append(row)
        self._idle.clear()
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def start(self) -> None:
        """Prune now and then daily, in the background."""
        if self._pruner is None:
            self._pruner = asyncio.get_running_loop().create_task(self._prune_loop())

    async def prune(self) -> int:
        deleted = await self._db.audit.prune(older_than_days=self._retention_days)
        if deleted:
            log.info("audit.pruned", deleted=deleted, retention_days=self._retention_days)
        return deleted

    async def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued row is stored; False if the database did not let us."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def aclose(self, timeout_s: float = 3.0) -> None:
        if not await self.flush(timeout_s) and self._rows:
            log.warning("audit.rows_not_written", count=len(self._rows))
        for task in (self._writer, self._pruner):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _write_loop(self) -> None:
        attempt = 0
        while True:
            if not self._rows:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            row = self._rows[0]
            try:
                await self._db.audit.record(
                    app=row.app,
                    user_id=row.user_id,
                    chat_id=row.chat_id,
                    action=row.action,
                    allowed=row.allowed,
                    detail=row.detail,
                )
            except (sqlite3.Error, ValueError) as exc:
                if isinstance(exc, ValueError) or attempt >= len(RETRY_DELAYS_S):
                    log.error("audit.write_failed", action=row.action, error=repr(exc))
                    self._rows.popleft()
                    attempt = 0
                    continue
                await self._sleep(RETRY_DELAYS_S[attempt])
                attempt += 1
                continue
            attempt = 0
            if self._rows and self._rows[0] is row:
                self._rows.popleft()

    async def _prune_loop(self) -> None:
        while True:
            try:
                await self.prune()
            except sqlite3.Error as exc:
                log.warning("audit.prune_failed", error=repr(exc))
            await self._sleep(PRUNE_EVERY_S)
