"""The bot's SQLite database: opened once, migrated at start-up, shared by the stores.

One aiosqlite connection in autocommit mode: every store write is a single statement,
so it commits on its own and nothing waits on a forgotten ``commit()``. WAL and a busy
timeout let ``baton ask`` and the running bot use the same file at once. The path is
passed in; storage never reads the environment.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite
import structlog

from storage.audit import AuditLog
from storage.clock import Clock, utc_now
from storage.doors import DoorLog
from storage.inbound import InboundPrompts
from storage.migrations import (
    MIGRATIONS,
    MigrationRegistry,
    applied_migrations,
    migrate,
    version_of,
)
from storage.pending import PendingChoices
from storage.preferences import PreferencesStore
from storage.usage import UsageLog

log = structlog.get_logger(__name__)


class DatabaseError(RuntimeError):
    """The database file could not be opened (path, permissions, not a database)."""


class Database:
    """Use ``await Database.open(path)`` or ``async with Database.open(path) as db``."""

    def __init__(
        self, conn: aiosqlite.Connection, path: Path, applied: tuple[str, ...], clock: Clock
    ) -> None:
        self._conn = conn
        self.path = path
        self.applied_migrations = applied
        self.preferences = PreferencesStore(conn, clock=clock)
        self.audit = AuditLog(conn, clock=clock)
        self.usage = UsageLog(conn, clock=clock)
        self.doors = DoorLog(conn, clock=clock)
        self.pending = PendingChoices(conn, clock=clock)
        self.inbound = InboundPrompts(conn, clock=clock)

    @staticmethod
    def open(
        path: str | os.PathLike[str],
        *,
        migrations: MigrationRegistry = MIGRATIONS,
        busy_timeout_ms: int = 5000,
        clock: Clock = utc_now,
    ) -> _Opening:
        return _Opening(Path(path), migrations, busy_timeout_ms, clock)

    @property
    def connection(self) -> aiosqlite.Connection:
        return self._conn

    @property
    def migration_version(self) -> int:
        """The highest migration number applied (for ``baton doctor``)."""
        return version_of(self.applied_migrations)

    async def close(self) -> None:
        await self._conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class _Opening:
    """Awaitable and async context manager, like ``aiosqlite.connect``."""

    def __init__(
        self, path: Path, migrations: MigrationRegistry, busy_timeout_ms: int, clock: Clock
    ) -> None:
        self._args = (path, migrations, busy_timeout_ms, clock)
        self._db: Database | None = None

    def __await__(self) -> Generator[Any, None, Database]:
        return _open(*self._args).__await__()

    async def __aenter__(self) -> Database:
        self._db = await _open(*self._args)
        return self._db

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is not None:
            await self._db.close()


async def _open(
    path: Path, migrations: MigrationRegistry, busy_timeout_ms: int, clock: Clock
) -> Database:
    _prepare_file(path)
    try:
        conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open database {path}: {exc}") from exc
    try:
        await _configure(conn, busy_timeout_ms)
        await migrate(conn, migrations)
        applied = await applied_migrations(conn)
    except sqlite3.DatabaseError as exc:
        await conn.close()
        raise DatabaseError(f"cannot use database {path}: {exc}") from exc
    except BaseException:
        await conn.close()
        raise
    log.info("storage.opened", path=str(path), version=version_of(applied))
    return Database(conn, path, applied, clock)


def _prepare_file(path: Path) -> None:
    """Private directory (0700) and file (0600): it holds chat ids and the audit log.

    Only a directory we create gets its mode set; an existing one is the owner's choice.
    SQLite gives the -wal and -shm files the database file's permissions.
    """
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
            path.parent.chmod(0o700)  # mkdir's mode is filtered by the umask
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
    except OSError as exc:
        raise DatabaseError(f"cannot create database {path}: {exc.strerror}") from exc


async def _configure(conn: aiosqlite.Connection, busy_timeout_ms: int) -> None:
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    mode = await _enable_wal(conn, busy_timeout_ms)
    if mode != "wal":
        log.warning("storage.no_wal", journal_mode=mode)
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA foreign_keys = ON")


async def _enable_wal(conn: aiosqlite.Connection, busy_timeout_ms: int) -> str:
    """Switch to WAL, retrying while another process does the same.

    Changing the journal mode can fail with "database is locked" at once, without the
    busy handler waiting, when two processes open a new file at the same moment.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
                row = await cursor.fetchone()
            return "" if row is None else str(row[0]).lower()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.02)
