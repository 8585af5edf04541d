"""A locked database never refuses or silences an allowed Telegram user: the decision is
in memory, the audit row follows when the database lets it."""

from __future__ import annotations

import sqlite3

from storage import Database
from tests.e2e.telegram.conftest import USER, Baton, answer, bot_texts, say
from tests.fakes.telegram_api import FakeTelegram


async def test_an_allowed_user_is_answered_while_the_database_is_locked(
    tg: FakeTelegram, scripted_baton: Baton
) -> None:
    baton = scripted_baton
    lock = sqlite3.connect(baton.settings.data_dir / "baton.sqlite3", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        sent = say(tg, "hello while locked")
        await answer(tg, "to: hello while locked", after=sent, timeout_s=30)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert not any("not allowed" in text for text in bot_texts(tg, USER))
    await baton.stop()  # flushes the audit rows that waited for the lock
    async with Database.open(baton.settings.data_dir / "baton.sqlite3") as db:
        rows = [e for e in await db.audit.recent(10) if e.user_id == str(USER)]
    assert [(e.action, e.allowed) for e in rows] == [("text", True)]
