"""Numbered schema migrations, applied in order at start-up, all in one transaction.

Each migration is a plain async function named ``mNNN_what_it_does`` and registered by
``@migration``; the names applied are recorded in ``_migrations`` (simonw/llm style), so
adding a migration is adding a function at the end of this file. Never edit or reorder
one that has shipped: databases in the wild have recorded its name.

There is no sessions table, ever: Claude Code's own files are the truth, and a pin is a
pointer to a Claude session id. ``m002`` drops the table an older bot left behind.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite
import structlog

log = structlog.get_logger(__name__)

MigrationFn = Callable[[aiosqlite.Connection], Awaitable[None]]

_NAME = re.compile(r"m(\d{3})_[a-z0-9_]+")


class MigrationError(RuntimeError):
    """The schema could not be brought up to date; the database was left as it was."""


@dataclass(frozen=True, slots=True)
class Migration:
    number: int
    name: str
    apply: MigrationFn


class MigrationRegistry:
    """Migrations in the order they must run; numbers are checked to be 1, 2, 3, ..."""

    def __init__(self) -> None:
        self._migrations: list[Migration] = []

    def register(self, fn: MigrationFn) -> MigrationFn:
        name = getattr(fn, "__name__", "")
        match = _NAME.fullmatch(name)
        if match is None:
            raise ValueError(f"migration name {name!r} must look like m001_what_it_does")
        number = int(match.group(1))
        expected = len(self._migrations) + 1
        if number != expected:
            raise ValueError(f"migration {name} is numbered {number}, expected {expected:03d}")
        self._migrations.append(Migration(number, name, fn))
        return fn

    def __iter__(self) -> Iterator[Migration]:
        return iter(self._migrations)

    def __len__(self) -> int:
        return len(self._migrations)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self._migrations)

    @property
    def head(self) -> int:
        """The number of the newest migration (0 when there are none)."""
        return len(self._migrations)


MIGRATIONS = MigrationRegistry()
migration = MIGRATIONS.register


def version_of(names: tuple[str, ...]) -> int:
    """Schema version of a database: the highest migration number it has applied."""
    return max((int(n[1:4]) for n in names if _NAME.fullmatch(n)), default=0)


async def applied_migrations(conn: aiosqlite.Connection) -> tuple[str, ...]:
    """Names recorded in ``_migrations``, oldest first (empty for a blank database)."""
    found = await _fetch_one(
        conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    )
    if found is None:
        return ()
    rows = await conn.execute_fetchall("SELECT name FROM _migrations ORDER BY rowid")
    return tuple(str(row[0]) for row in rows)


async def migrate(
    conn: aiosqlite.Connection, registry: MigrationRegistry = MIGRATIONS
) -> list[str]:
    """Apply every pending migration in ONE transaction; return the names applied.

    The connection must be in autocommit mode (``isolation_level=None``). Foreign-key
    enforcement is off while migrating: with it on, dropping a legacy table that other
    legacy tables reference would cascade-delete or refuse, and we lose nothing.
    ``BEGIN IMMEDIATE`` makes a second process starting at the same moment wait, then
    find nothing left to do.
    """
    foreign_keys = await _fetch_one(conn, "PRAGMA foreign_keys")
    await conn.execute("PRAGMA foreign_keys = OFF")
    try:
        try:
            await conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise MigrationError(f"cannot lock the database to migrate it: {exc}") from exc
        try:
            applied = await _apply_pending(conn, registry)
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
    finally:
        if foreign_keys is not None and foreign_keys[0]:
            await conn.execute("PRAGMA foreign_keys = ON")
    if applied:
        log.info("storage.migrated", applied=applied, version=registry.head)
    return applied


async def _apply_pending(conn: aiosqlite.Connection, registry: MigrationRegistry) -> list[str]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = await applied_migrations(conn)
    unknown = [name for name in done if name not in registry.names]
    if unknown:
        raise MigrationError(
            f"the database has migrations this version does not know ({', '.join(unknown)}); "
            "it was written by a newer claude-baton, upgrade instead of downgrading"
        )
    applied: list[str] = []
    for step in registry:
        if step.name in done:
            continue
        try:
            await step.apply(conn)
        except Exception as exc:
            raise MigrationError(
                f"migration {step.name} failed: {exc}; the database was left unchanged"
            ) from exc
        if not conn.in_transaction:
            raise MigrationError(
                f"migration {step.name} ended the transaction (executescript commits); "
                "run statements one by one with execute()"
            )
        await conn.execute(
            "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
            (step.name, datetime.now(UTC).isoformat(timespec="seconds")),
        )
        applied.append(step.name)
    return applied


async def _fetch_one(
    conn: aiosqlite.Connection, sql: str, params: tuple[object, ...] = ()
) -> sqlite3.Row | None:
    async with conn.execute(sql, params) as cursor:
        row: sqlite3.Row | None = await cursor.fetchone()
        return row


async def _run(conn: aiosqlite.Connection, *statements: str) -> None:
    for statement in statements:
        await conn.execute(statement)


async def _move_aside(conn: aiosqlite.Connection, table: str) -> None:
    """Rename a same-named table an older bot left (e.g. its own ``audit_log``).

    Its rows are kept as ``legacy_<table>``; nothing is deleted. ``legacy_alter_table``
    stops SQLite from re-checking every view, so a view already broken in the old
    database (one over its dropped ``sessions``) cannot block the rename.
    """
    if not await _table_exists(conn, table):
        return
    aside = f"legacy_{table}"
    if await _table_exists(conn, aside):
        raise MigrationError(f"both {table} and {aside} exist; move one of them out of the way")
    await conn.execute("PRAGMA legacy_alter_table = ON")
    try:
        await conn.execute(f'ALTER TABLE "{table}" RENAME TO "{aside}"')
    finally:
        await conn.execute("PRAGMA legacy_alter_table = OFF")
    log.warning("storage.legacy_table_kept", table=table, renamed_to=aside)


async def _table_exists(conn: aiosqlite.Connection, table: str) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return await _fetch_one(conn, sql, (table,)) is not None


@migration
async def m001_initial(conn: aiosqlite.Connection) -> None:
    for table in ("chat_preferences", "audit_log", "usage"):
        await _move_aside(conn, table)
    await _run(
        conn,
        """
        CREATE TABLE chat_preferences (
            app TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            thread_id TEXT NOT NULL DEFAULT '',
            directory TEXT,
            pinned_session_id TEXT,
            force_new INTEGER NOT NULL DEFAULT 0 CHECK (force_new IN (0, 1)),
            model TEXT,
            verbosity INTEGER CHECK (verbosity BETWEEN 0 AND 2),
            permission_mode TEXT,
            last_seen_session_id TEXT,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (app, chat_id, thread_id)
        )
        """,
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            app TEXT NOT NULL,
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL DEFAULT '',
            action TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            allowed INTEGER NOT NULL CHECK (allowed IN (0, 1))
        )
        """,
        "CREATE INDEX audit_log_at ON audit_log (at)",
        """
        CREATE TABLE usage (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            app TEXT NOT NULL,
            chat_id TEXT NOT NULL DEFAULT '',
            user_id TEXT NOT NULL DEFAULT '',
            session_id TEXT NOT NULL,
            outcome TEXT NOT NULL,
            cost_usd REAL NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
            duration_ms INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX usage_session_id ON usage (session_id)",
        "CREATE INDEX usage_at ON usage (at)",
    )


@migration
async def m002_drop_sessions(conn: aiosqlite.Connection) -> None:
    """The seed's migration: session state lives in Claude Code's history.jsonl.

    Views an older bot built over ``sessions`` can no longer be read once it is gone
    (and would block later ALTER TABLEs); they hold no data, so they go too.
    """
    await conn.execute("DROP TABLE IF EXISTS sessions")
    views = await conn.execute_fetchall(
        "SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name"
    )
    for name, sql in views:
        if not re.search(r"\bsessions\b", sql or "", re.IGNORECASE):
            continue
        try:
            await conn.execute(f'SELECT * FROM "{name}" LIMIT 0')
        except sqlite3.OperationalError:
            await conn.execute(f'DROP VIEW "{name}"')
            log.warning("storage.legacy_view_dropped", view=name, reason="reads sessions")


@migration
async def m003_session_doors(conn: aiosqlite.Connection) -> None:
    """Which doors (terminal, telegram, discord, cli) used a session last: a pointer only."""
    await _move_aside(conn, "session_doors")
    await conn.execute(
        """
        CREATE TABLE session_doors (
            session_id TEXT NOT NULL,
            door TEXT NOT NULL,
            last_used_at INTEGER NOT NULL,
            PRIMARY KEY (session_id, door)
        )
        """
    )


@migration
async def m004_pending_choices(conn: aiosqlite.Connection) -> None:
    """Buttons outlive a restart: a short opaque key maps to what the button means."""
    await _move_aside(conn, "pending_choices")
    await _run(
        conn,
        """
        CREATE TABLE pending_choices (
            key TEXT PRIMARY KEY,
            app TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        )
        """,
        "CREATE INDEX pending_choices_expires_at ON pending_choices (expires_at)",
    )


@migration
async def m005_inbound_prompts(conn: aiosqlite.Connection) -> None:
    """Prompts a chat sent, kept from acknowledgement until their turn ends: a crash
    loses none, and the app's message id makes a redelivered one a no-op."""
    await _move_aside(conn, "inbound_prompts")
    await _run(
        conn,
        """
        CREATE TABLE inbound_prompts (
            app TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            thread_id TEXT NOT NULL DEFAULT '',
            message_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            mention TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            attachments INTEGER NOT NULL DEFAULT 0,
            received_at INTEGER NOT NULL,
            session_id TEXT,
            finished_at INTEGER,
            PRIMARY KEY (app, chat_id, thread_id, message_id)
        )
        """,
        "CREATE INDEX inbound_prompts_open ON inbound_prompts (app, finished_at)",
    )
