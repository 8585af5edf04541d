"""Migrations: blank → head, legacy → head, idempotence, and all-or-nothing failure."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from storage import MIGRATIONS, Database, DatabaseError, MigrationError
from storage.migrations import MigrationRegistry, migrate

# (type, not null, default, primary-key position) per column, as PRAGMA table_info says.
EXPECTED_TABLES: dict[str, dict[str, tuple[str, int, str | None, int]]] = {
    "_migrations": {
        "name": ("TEXT", 0, None, 1),
        "applied_at": ("TEXT", 1, None, 0),
    },
    "chat_preferences": {
        "app": ("TEXT", 1, None, 1),
        "chat_id": ("TEXT", 1, None, 2),
        "thread_id": ("TEXT", 1, "''", 3),
        "directory": ("TEXT", 0, None, 0),
        "pinned_session_id": ("TEXT", 0, None, 0),
        "force_new": ("INTEGER", 1, "0", 0),
        "model": ("TEXT", 0, None, 0),
        "verbosity": ("INTEGER", 0, None, 0),
        "permission_mode": ("TEXT", 0, None, 0),
        "last_seen_session_id": ("TEXT", 0, None, 0),
        "updated_at": ("INTEGER", 1, None, 0),
    },
    "audit_log": {
        "id": ("INTEGER", 0, None, 1),
        "at": ("INTEGER", 1, None, 0),
        "app": ("TEXT", 1, None, 0),
        "user_id": ("TEXT", 1, None, 0),
        "chat_id": ("TEXT", 1, "''", 0),
        "action": ("TEXT", 1, None, 0),
        "detail": ("TEXT", 1, "''", 0),
        "allowed": ("INTEGER", 1, None, 0),
    },
    "usage": {
        "id": ("INTEGER", 0, None, 1),
        "at": ("INTEGER", 1, None, 0),
        "app": ("TEXT", 1, None, 0),
        "chat_id": ("TEXT", 1, "''", 0),
        "user_id": ("TEXT", 1, "''", 0),
        "session_id": ("TEXT", 1, None, 0),
        "outcome": ("TEXT", 1, None, 0),
        "cost_usd": ("REAL", 1, "0", 0),
        "input_tokens": ("INTEGER", 1, "0", 0),
        "output_tokens": ("INTEGER", 1, "0", 0),
        "cache_read_tokens": ("INTEGER", 1, "0", 0),
        "cache_creation_tokens": ("INTEGER", 1, "0", 0),
        "duration_ms": ("INTEGER", 1, "0", 0),
    },
    "session_doors": {
        "session_id": ("TEXT", 1, None, 1),
        "door": ("TEXT", 1, None, 2),
        "last_used_at": ("INTEGER", 1, None, 0),
    },
    "pending_choices": {
        "key": ("TEXT", 0, None, 1),
        "app": ("TEXT", 1, None, 0),
        "chat_id": ("TEXT", 1, None, 0),
        "kind": ("TEXT", 1, None, 0),
        "payload": ("TEXT", 1, None, 0),
        "created_at": ("INTEGER", 1, None, 0),
        "expires_at": ("INTEGER", 1, None, 0),
    },
    "inbound_prompts": {
        "app": ("TEXT", 1, None, 1),
        "chat_id": ("TEXT", 1, None, 2),
        "thread_id": ("TEXT", 1, "''", 3),
        "message_id": ("TEXT", 1, None, 4),
        "user_id": ("TEXT", 1, None, 0),
        "display_name": ("TEXT", 1, "''", 0),
        "mention": ("TEXT", 1, "''", 0),
        "text": ("TEXT", 1, None, 0),
        "attachments": ("INTEGER", 1, "0", 0),
        "received_at": ("INTEGER", 1, None, 0),
        "session_id": ("TEXT", 0, None, 0),
        "finished_at": ("INTEGER", 0, None, 0),
    },
}
EXPECTED_INDEXES = {
    "audit_log_at": "audit_log",
    "usage_session_id": "usage",
    "usage_at": "usage",
    "pending_choices_expires_at": "pending_choices",
    "inbound_prompts_open": "inbound_prompts",
}
HEAD = (
    "m001_initial",
    "m002_drop_sessions",
    "m003_session_doors",
    "m004_pending_choices",
    "m005_inbound_prompts",
)


def schema(path: Path) -> dict[str, Any]:
    """Tables (with columns), indexes and views of a database file, read with plain sqlite3."""
    with sqlite3.connect(path) as conn:
        objects = conn.execute(
            "SELECT type, name, tbl_name FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
        tables = {
            name: {
                col: (ctype, notnull, default, pk)
                for _, col, ctype, notnull, default, pk in conn.execute(
                    f'PRAGMA table_info("{name}")'
                )
            }
            for kind, name, _ in objects
            if kind == "table"
        }
    return {
        "tables": tables,
        "indexes": {name: table for kind, name, table in objects if kind == "index"},
        "views": sorted(name for kind, name, _ in objects if kind == "view"),
    }


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()


async def test_blank_to_head_gives_exactly_the_expected_schema(db_path: Path) -> None:
    async with Database.open(db_path) as db:
        assert db.applied_migrations == HEAD
        assert db.migration_version == 5 == MIGRATIONS.head
    found = schema(db_path)
    assert found["tables"] == EXPECTED_TABLES
    assert found["indexes"] == EXPECTED_INDEXES
    assert found["views"] == []
    assert [name for name, _ in rows(db_path, "_migrations")] == list(HEAD)


async def test_reopening_applies_nothing_and_changes_nothing(db_path: Path) -> None:
    async with Database.open(db_path):
        pass
    before = schema(db_path), rows(db_path, "_migrations")
    async with Database.open(db_path) as db:
        assert await migrate(db.connection) == []
        assert db.migration_version == 5
    assert (schema(db_path), rows(db_path, "_migrations")) == before


async def test_connection_is_wal_with_foreign_keys_and_busy_timeout(db_path: Path) -> None:
    async with Database.open(db_path, busy_timeout_ms=1234) as db:
        pragmas = {}
        for name in ("journal_mode", "foreign_keys", "busy_timeout"):
            async with db.connection.execute(f"PRAGMA {name}") as cursor:
                row = await cursor.fetchone()
                assert row is not None
                pragmas[name] = row[0]
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 1234}


async def test_new_directory_and_file_are_private(db_path: Path) -> None:
    async with Database.open(db_path):
        pass
    assert (mode(db_path.parent), mode(db_path)) == (0o700, 0o600)


async def test_several_openers_at_once_migrate_once(tmp_path: Path) -> None:
    """The bot and `baton ask` may create the file at the same moment (threads stand in)."""
    for attempt in range(10):  # the race is timing-dependent: give it many chances
        path = tmp_path / str(attempt) / "baton.sqlite3"
        async with asyncio.timeout(30):
            opened = await asyncio.gather(*(Database.open(path) for _ in range(4)))
        try:
            assert {db.applied_migrations for db in opened} == {HEAD}
        finally:
            for db in opened:
                await db.close()
        assert [name for name, _ in rows(path, "_migrations")] == list(HEAD)


async def test_unopenable_paths_fail_with_the_path_in_the_message(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database, just bytes " * 100)
    with pytest.raises(DatabaseError, match=r"garbage\.sqlite3"):
        await Database.open(garbage)
    assert garbage.read_bytes().startswith(b"this is not a database")
    with pytest.raises(DatabaseError, match="cannot"):
        await Database.open(tmp_path)  # a directory


# --- a database left by an older bot -------------------------------------------------

# Shaped like claude-code-telegram's own schema: users, sessions, messages and
# tool_usage referencing sessions, its own audit_log, and a view over sessions.
# tool_usage is given ON DELETE CASCADE so a drop with foreign keys on would empty it.
LEGACY_SCHEMA = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY);
CREATE TABLE users (user_id INTEGER PRIMARY KEY, telegram_username TEXT,
    total_cost REAL DEFAULT 0.0);
CREATE TABLE sessions (session_id TEXT PRIMARY KEY, user_id INTEGER NOT NULL,
    project_path TEXT NOT NULL, total_cost REAL DEFAULT 0.0, chat_id INTEGER,
    FOREIGN KEY (user_id) REFERENCES users(user_id));
CREATE TABLE messages (message_id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL, user_id INTEGER NOT NULL, prompt TEXT NOT NULL, cost REAL,
    FOREIGN KEY (session_id) REFERENCES sessions(session_id),
    FOREIGN KEY (user_id) REFERENCES users(user_id));
CREATE TABLE tool_usage (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
    tool_name TEXT NOT NULL,
    FOREIGN KEY (session_id) REFERENCES sessions(session_id) ON DELETE CASCADE);
CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL,
    event_type TEXT NOT NULL, event_data JSON, success BOOLEAN DEFAULT TRUE,
    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE INDEX idx_sessions_user_id ON sessions(user_id);
CREATE INDEX idx_messages_session_id ON messages(session_id);
CREATE VIEW daily_stats AS SELECT COUNT(*) AS total_messages, SUM(cost) AS total_cost
    FROM messages;
CREATE VIEW user_stats AS SELECT u.user_id, COUNT(DISTINCT s.session_id) AS total_sessions
    FROM users u LEFT JOIN sessions s ON u.user_id = s.user_id GROUP BY u.user_id;
INSERT INTO schema_version VALUES (1), (2), (3), (4);
INSERT INTO users VALUES (42, 'ada', 1.5), (43, 'bob', 0.25);
INSERT INTO sessions VALUES ('sess-a', 42, '/work/a', 1.0, 100),
    ('sess-b', 42, '/work/b', 0.5, 100), ('sess-c', 43, '/work/a', 0.25, 200);
INSERT INTO messages (session_id, user_id, prompt, cost) VALUES ('sess-a', 42, 'hi', 0.5),
    ('sess-a', 42, 'more', 0.5), ('sess-c', 43, 'hello', 0.25);
INSERT INTO tool_usage (session_id, tool_name) VALUES ('sess-a', 'Bash'), ('sess-b', 'Read');
INSERT INTO audit_log (user_id, event_type, event_data, success)
    VALUES (42, 'auth', '{"ok": true}', 1), (99, 'auth', '{"ok": false}', 0);
"""
KEPT_TABLES = ("schema_version", "users", "messages", "tool_usage")


def legacy_database(path: Path, *, seed_migration_8_ran: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(LEGACY_SCHEMA)
        if seed_migration_8_ran:  # the seed dropped sessions itself and left the view
            conn.executescript("PRAGMA foreign_keys = OFF; DROP TABLE sessions;")
    conn.close()


async def test_legacy_to_head_drops_sessions_and_loses_nothing_else(db_path: Path) -> None:
    legacy_database(db_path)
    kept = {table: rows(db_path, table) for table in (*KEPT_TABLES, "audit_log")}
    assert len(rows(db_path, "sessions")) == 3

    async with Database.open(db_path) as db:
        assert db.applied_migrations == HEAD
        entry = await db.audit.record(app="telegram", user_id=42, action="message", allowed=True)
        assert entry.id == 1

    found = schema(db_path)
    assert "sessions" not in found["tables"]
    assert "idx_sessions_user_id" not in found["indexes"]
    for table in KEPT_TABLES:
        assert rows(db_path, table) == kept[table], table
    assert rows(db_path, "legacy_audit_log") == kept["audit_log"]
    # Our tables have exactly the expected shape next to the old ones.
    for table, columns in EXPECTED_TABLES.items():
        assert found["tables"][table] == columns, table
    assert found["views"] == ["daily_stats"]  # user_stats read sessions, so it went
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT total_messages FROM daily_stats").fetchone() == (3,)
    conn.close()


async def test_legacy_after_the_seeds_own_drop_still_migrates(db_path: Path) -> None:
    legacy_database(db_path, seed_migration_8_ran=True)
    kept = {table: rows(db_path, table) for table in (*KEPT_TABLES, "audit_log")}
    async with Database.open(db_path) as db:
        assert db.migration_version == 5
    for table in KEPT_TABLES:
        assert rows(db_path, table) == kept[table], table
    assert rows(db_path, "legacy_audit_log") == kept["audit_log"]
    assert schema(db_path)["views"] == ["daily_stats"]


# --- failure is all or nothing --------------------------------------------------------


def registry_with_failure_after(count: int) -> MigrationRegistry:
    """The first ``count`` real migrations, then one that raises."""
    registry = MigrationRegistry()
    for step in list(MIGRATIONS)[:count]:
        registry.register(step.apply)

    async def boom(conn: aiosqlite.Connection) -> None:
        await conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("disk on fire")

    boom.__name__ = f"m{count + 1:03d}_boom"
    registry.register(boom)
    return registry


async def test_a_failing_migration_rolls_back_everything_on_a_blank_database(
    db_path: Path,
) -> None:
    with pytest.raises(MigrationError, match=r"m005_boom failed: disk on fire") as caught:
        await Database.open(db_path, migrations=registry_with_failure_after(4))
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert schema(db_path)["tables"] == {}


async def test_a_failing_migration_keeps_the_legacy_sessions_table(db_path: Path) -> None:
    legacy_database(db_path)
    before = schema(db_path), {t: rows(db_path, t) for t in ("sessions", "audit_log")}
    with pytest.raises(MigrationError, match="m003_boom"):
        await Database.open(db_path, migrations=registry_with_failure_after(2))
    assert (schema(db_path), {t: rows(db_path, t) for t in ("sessions", "audit_log")}) == before


async def test_a_failure_after_earlier_runs_keeps_what_was_already_applied(
    db_path: Path,
) -> None:
    async with Database.open(db_path) as db:
        await db.usage.record(app="telegram", session_id="s1", outcome="success", cost_usd=1.0)
    with pytest.raises(MigrationError, match=f"m{len(HEAD) + 1:03d}_boom"):
        await Database.open(db_path, migrations=registry_with_failure_after(len(HEAD)))
    assert [name for name, _ in rows(db_path, "_migrations")] == list(HEAD)
    assert "half_done" not in schema(db_path)["tables"]
    assert len(rows(db_path, "usage")) == 1


async def test_a_database_from_a_newer_version_is_refused_untouched(db_path: Path) -> None:
    async with Database.open(db_path):
        pass
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO _migrations VALUES ('m099_from_the_future', 'x')")
    conn.close()
    before = schema(db_path)
    with pytest.raises(MigrationError, match=r"m099_from_the_future.*newer claude-baton"):
        await Database.open(db_path)
    assert schema(db_path) == before


async def test_a_migration_that_commits_on_its_own_is_caught(db_path: Path) -> None:
    registry = MigrationRegistry()

    @registry.register
    async def m001_uses_executescript(conn: aiosqlite.Connection) -> None:
        await conn.executescript("CREATE TABLE t (x INTEGER);")

    with pytest.raises(MigrationError, match="m001_uses_executescript ended the transaction"):
        await Database.open(db_path, migrations=registry)


def test_registry_refuses_badly_named_or_numbered_migrations() -> None:
    registry = MigrationRegistry()

    async def m001_first(conn: aiosqlite.Connection) -> None: ...
    async def m003_skips_two(conn: aiosqlite.Connection) -> None: ...
    async def add_column(conn: aiosqlite.Connection) -> None: ...

    registry.register(m001_first)
    with pytest.raises(ValueError, match="numbered 3, expected 002"):
        registry.register(m003_skips_two)
    with pytest.raises(ValueError, match="must look like m001_"):
        registry.register(add_column)
    assert registry.names == ("m001_first",)
