"""Chat preferences: defaults, partial updates, validation that writes nothing, isolation."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from storage import ChatKey, ChatPreferences, Database

from .conftest import FakeClock

CHAT = ChatKey.of("telegram", -100123, None)


async def test_a_chat_that_never_saved_gets_the_defaults(db: Database) -> None:
    prefs = await db.preferences.get(CHAT)
    assert prefs == ChatPreferences()
    assert prefs.follows_latest and prefs.updated_at is None and prefs.force_new is False


async def test_update_changes_only_the_named_fields(db: Database, clock: FakeClock) -> None:
    first = await db.preferences.update(CHAT, directory="/work/a", verbosity=2)
    assert (first.directory, first.verbosity, first.updated_at) == ("/work/a", 2, clock.now)
    clock.advance(minutes=1)
    second = await db.preferences.update(CHAT, pinned_session_id="sess-1", force_new=True)
    assert second == ChatPreferences(
        directory="/work/a",
        verbosity=2,
        pinned_session_id="sess-1",
        force_new=True,
        updated_at=clock.now,
    )
    assert not second.follows_latest
    unpinned = await db.preferences.update(CHAT, pinned_session_id=None, force_new=False)
    assert unpinned.follows_latest and unpinned.directory == "/work/a"
    assert await db.preferences.get(CHAT) == unpinned


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "blue"}, "unknown preference.*colour"),
        ({"updated_at": None}, "unknown preference.*updated_at"),
        ({"verbosity": 3}, "verbosity must be 0, 1, 2 or None"),
        ({"verbosity": -1}, "verbosity must be"),
        ({"verbosity": True}, "verbosity must be"),
        ({"verbosity": "2"}, "verbosity must be"),
        ({"force_new": 1}, "force_new must be True or False"),
        ({"permission_mode": "yolo"}, "permission_mode must be one of default, acceptEdits"),
        ({"directory": ""}, "directory must be a non-empty str"),
        ({"model": 5}, "model must be a non-empty str"),
    ],
)
async def test_bad_updates_are_refused_and_lose_nothing(
    db: Database, changes: dict[str, object], message: str
) -> None:
    saved = await db.preferences.update(CHAT, model="opus", verbosity=1)
    with pytest.raises(ValueError, match=message):
        await db.preferences.update(CHAT, **{"pinned_session_id": "s", **changes})
    assert await db.preferences.get(CHAT) == saved


async def test_chats_threads_and_apps_are_separate(db: Database) -> None:
    keys = [
        CHAT,
        ChatKey.of("telegram", -100123, 7),
        ChatKey.of("discord", -100123),
        ChatKey.of("telegram", 555),
    ]
    for n, key in enumerate(keys):
        await db.preferences.update(key, directory=f"/work/{n}")
    assert [(await db.preferences.get(k)).directory for k in keys] == [
        "/work/0",
        "/work/1",
        "/work/2",
        "/work/3",
    ]


async def test_racing_updates_of_different_fields_all_land(db: Database) -> None:
    async with asyncio.timeout(10):
        await asyncio.gather(
            *(db.preferences.update(CHAT, model=f"model-{n}") for n in range(20)),
            db.preferences.update(CHAT, verbosity=0),
            db.preferences.update(CHAT, directory="/work/race"),
            db.preferences.update(CHAT, last_seen_session_id="sess-9"),
        )
    prefs = await db.preferences.get(CHAT)
    assert (prefs.verbosity, prefs.directory, prefs.last_seen_session_id) == (
        0,
        "/work/race",
        "sess-9",
    )
    assert prefs.model is not None and prefs.model.startswith("model-")


async def test_save_replaces_everything_and_delete_forgets(db: Database) -> None:
    await db.preferences.update(CHAT, directory="/work/a", model="opus", verbosity=2)
    replaced = await db.preferences.save(CHAT, ChatPreferences(permission_mode="plan"))
    assert replaced.permission_mode == "plan"
    assert (replaced.directory, replaced.model, replaced.verbosity) == (None, None, None)
    assert await db.preferences.delete(CHAT) is True
    assert await db.preferences.delete(CHAT) is False
    assert await db.preferences.get(CHAT) == ChatPreferences()


async def test_preferences_survive_a_restart(db_path: Path, clock: FakeClock) -> None:
    async with Database.open(db_path, clock=clock) as db:
        saved = await db.preferences.update(CHAT, pinned_session_id="sess-1", verbosity=0)
    clock.advance(hours=1)
    async with Database.open(db_path, clock=clock) as db:
        assert await db.preferences.get(CHAT) == saved
        assert saved.updated_at == clock.now - timedelta(hours=1)


def test_chat_keys_validate_themselves() -> None:
    assert ChatKey.of("discord", 1, 2) == ChatKey("discord", "1", "2")
    assert ChatKey.of("telegram", 1).thread_id == ""
    with pytest.raises(ValueError, match="app must be one of telegram, discord"):
        ChatKey("slack", "1")
    with pytest.raises(ValueError, match="chat_id must not be empty"):
        ChatKey("telegram", "")
    with pytest.raises(TypeError, match=r"use ChatKey\.of"):
        ChatKey("telegram", 5)  # type: ignore[arg-type]
