"""Who reaches Claude, and what: only allowed users; in groups only what is addressed
to the bot; photos and documents as attachments; commands from the single list."""

from __future__ import annotations

import re
from pathlib import Path

from chat_adapters.commands import commands_for
from session_core.events import ImageInput
from storage import Database
from tests.e2e.telegram.conftest import (
    STRANGER,
    USER,
    WAIT_S,
    Baton,
    answer,
    bot_texts,
    prompts,
    say,
)
from tests.fakes.scripted_runner import ScriptedRunner
from tests.fakes.telegram_api import FakeTelegram

GROUP = -100777
FORUM = -100778
# A real 2x3 PNG.
PNG_2X3 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000020000000308020000001216f1"
    "4d0000001149444154789c63f8ffff3f03020c0c0c00006f0cf90e14a7a7d3"
    "0000000049454e44ae426082"
)


async def test_commands_are_registered_from_the_single_list(
    tg: FakeTelegram, scripted_baton: Baton
) -> None:
    baton = scripted_baton
    expected = {c.name: c.description for c in commands_for("telegram")}
    assert tg.bot_commands == expected
    assert "ask" not in expected and "start" in expected

    say(tg, "/help")
    helped = await answer(tg, "Directory")
    assert str(baton.settings.roots[0]) in helped.body and "/sessions" in helped.body
    say(tg, f"/frobnicate@{tg.bot_username} now")
    await answer(tg, "Unknown command /frobnicate", after=helped)
    say(tg, "/start@some_other_bot")  # a command for another bot in the chat: not ours
    say(tg, "/status")
    status = await answer(tg, "State: idle", after=helped)
    assert sum("Directory" in text for text in bot_texts(tg)) == 2, "one /help, one /status"
    assert status.message_id == tg.sent_messages(USER)[-1].message_id


async def test_unauthorized_user_gets_one_refusal_and_never_reaches_claude(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    baton = scripted_baton
    for text in ("hello?", "/sessions", "please"):
        last = say(tg, text, user=STRANGER)
    await tg.wait_until_confirmed(last.message_id, timeout=WAIT_S)
    await answer(tg, "not allowed", chat=STRANGER)
    await baton.stop()  # everything it would do is done

    assert bot_texts(tg, STRANGER) == [
        "Sorry, you are not allowed to use this bot. This attempt was logged."
    ]
    assert scripted_runner.calls == []
    async with await Database.open(baton.settings.data_dir / "baton.sqlite3") as db:
        entries = [e for e in await db.audit.recent(20) if e.user_id == str(STRANGER)]
    assert len(entries) == 1 and not entries[0].allowed, "one refusal row per minute"
    assert entries[0].action == "text"


async def test_group_answers_commands_mentions_and_replies_only(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    bot = f"@{tg.bot_username}"
    tg.send_user_message(GROUP, USER, "just chatting among people", chat_type="supergroup")
    tg.send_user_message(GROUP, STRANGER, f"{bot} let me in", chat_type="supergroup")
    asked = tg.send_user_message(GROUP, USER, f"{bot} what is up", chat_type="supergroup")
    first = await answer(tg, "to: what is up", chat=GROUP, after=asked)
    assert "@" not in prompts(scripted_runner)[-1], "the mention is not part of the prompt"

    reply = tg.send_user_message(
        GROUP, USER, "and then?", chat_type="supergroup", reply_to=first.message_id
    )
    await answer(tg, "to: and then?", chat=GROUP, after=reply)
    topic = tg.send_user_message(
        FORUM, USER, f"{bot} in a topic", chat_type="supergroup", thread_id=55
    )
    in_topic = await answer(tg, "to: in a topic", chat=FORUM, after=topic)
    assert in_topic.thread_id == 55
    assert all(m.thread_id == 55 for m in tg.sent_messages(FORUM)), "the topic's own surface"

    assert prompts(scripted_runner) == ["what is up", "and then?", "in a topic"]
    assert sum("not allowed" in t for t in bot_texts(tg, GROUP)) == 1
    assert tg.count_429() == 0


async def test_photo_and_document_reach_the_turn(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    """What the turn is given; that an ImageInput reaches the model as an image block is
    the session layer's (tests/e2e/test_dispatch.py)."""
    sent = tg.send_user_message(USER, USER, "what is in this picture", photo=PNG_2X3)
    await answer(tg, "SCRIPTED-REPLY", after=sent)
    call = scripted_runner.calls[-1]
    assert call.images == (ImageInput("image/png", PNG_2X3),), "the largest size, an image"
    assert "what is in this picture" in call.prompt

    sent = tg.send_user_message(USER, USER, "summarize", document=("notes.md", b"# Notes\n"))
    await answer(tg, "summarize", after=sent)
    prompt = prompts(scripted_runner)[-1]
    saved = re.search(r"(/\S+notes\.md)", prompt)
    assert saved is not None, prompt
    assert Path(saved.group(1)).read_bytes() == b"# Notes\n"
