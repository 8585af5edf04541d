"""The fake Telegram Bot API against the real python-telegram-bot, started as the product does.

These tests prove the double is faithful enough to test the adapter with: PTB parses
everything it answers, and the limits it enforces surface as PTB's own exceptions.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.error import BadRequest, InvalidToken, RetryAfter
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.e2e.telegram.harness import App, polling
from tests.fakes.telegram_api import (
    REACTION_EMOJI,
    FakeTelegram,
    FloodControl,
    RateLimits,
    utf16_len,
)

USER = 4242
GROUP = -1001234
# A real 2x3 PNG, so the fake reports its true size.
PNG_2X3 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000020000000308020000001216f1"
    "4d0000001149444154789c63f8ffff3f03020c0c0c00006f0cf90e14a7a7d3"
    "0000000049454e44ae426082"
)


class FakeClock:
    """A monotonic clock the test moves by hand, so flood control is deterministic."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ----------------------------------------------------------------------------- the tiny bot


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(f"echo: {update.message.text}")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(f"started with {context.args!r}")


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    keyboard = [[InlineKeyboardButton("Yes", callback_data="y:1")]]
    keyboard.append([InlineKeyboardButton("No", callback_data="n:1")])
    await update.message.reply_text("Pick one", reply_markup=InlineKeyboardMarkup(keyboard))


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(f"got {query.data}")
    await query.edit_message_text(f"chose {query.data}")  # no reply_markup: keyboard goes


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None
    largest = message.photo[-1]
    file = await context.bot.get_file(largest.file_id)
    data = bytes(await file.download_as_bytearray())
    digest = hashlib.sha256(data).hexdigest()[:12]
    await message.reply_text(f"photo {largest.width}x{largest.height} {len(data)} bytes {digest}")
    await message.reply_document(data, filename="back.png", caption=message.caption)


def build_app(tg: FakeTelegram, token: str | None = None) -> App:
    app = (
        ApplicationBuilder()
        .token(token or tg.token)
        .base_url(f"{tg.root_url}/bot")
        .base_file_url(f"{tg.root_url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.PHOTO, photo))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


@pytest.fixture
async def app(tg: FakeTelegram) -> AsyncIterator[App]:
    async with polling(build_app(tg)) as application:
        yield application


# ----------------------------------------------------------------------------- round trips


async def test_echo_round_trip(tg: FakeTelegram, app: App) -> None:
    sent = tg.send_user_message(USER, USER, "hello 👋")
    reply = await tg.wait_for_message(USER, contains="echo:", timeout=5)

    assert reply.body == "echo: hello 👋"
    assert reply.from_bot and reply.message_id == sent.message_id + 1
    assert [m.body for m in tg.transcript(USER)] == ["hello 👋", "echo: hello 👋"]
    call = tg.calls("sendMessage")[-1]
    assert call.ok and call.params["chat_id"] == USER and isinstance(call.params["text"], str)


async def test_text_that_looks_like_json_stays_text(tg: FakeTelegram, app: App) -> None:
    tg.send_user_message(USER, USER, "123")
    reply = await tg.wait_for_message(USER, contains="echo:", timeout=5)
    assert reply.body == "echo: 123"
    assert tg.calls("sendMessage")[-1].params["text"] == "echo: 123"


async def test_command_gets_bot_command_entity(tg: FakeTelegram, app: App) -> None:
    sent = tg.send_user_message(USER, USER, "/start deep link")
    assert sent.entities == ({"type": "bot_command", "offset": 0, "length": 6},)

    reply = await tg.wait_for_message(USER, contains="started", timeout=5)
    assert reply.body == "started with ['deep', 'link']"


async def test_group_command_addressed_to_the_bot(tg: FakeTelegram, app: App) -> None:
    tg.send_user_message(GROUP, USER, f"/start@{tg.bot_username} x", chat_type="supergroup")
    reply = await tg.wait_for_message(GROUP, contains="started", timeout=5)
    assert reply.body == "started with ['x']"


async def test_forum_topic_reply_keeps_thread(tg: FakeTelegram, app: App) -> None:
    tg.send_user_message(GROUP, USER, "in topic", chat_type="supergroup", thread_id=77)
    reply = await tg.wait_for_message(GROUP, contains="echo", timeout=5)
    assert reply.thread_id == 77
    assert tg.calls("sendMessage")[-1].params["message_thread_id"] == 77


async def test_button_round_trip(tg: FakeTelegram, app: App) -> None:
    tg.send_user_message(USER, USER, "/menu")
    menu_msg = await tg.wait_for_message(USER, contains="Pick one", timeout=5)
    assert [[b.callback_data for b in row] for row in menu_msg.buttons] == [["y:1"], ["n:1"]]

    press = tg.press_button(menu_msg, "n:1")
    answer = await tg.wait_for_callback_answer(press, timeout=5)
    edited = await tg.wait_for_message(USER, contains="chose", timeout=5)

    assert answer.text == "got n:1"
    assert edited.message_id == menu_msg.message_id
    assert edited.body == "chose n:1" and edited.edits == 1
    assert edited.buttons == ()  # editMessageText without reply_markup removed the keyboard
    with pytest.raises(LookupError):
        tg.press_button(edited, "y:1")


async def test_press_by_label_and_unknown_button(tg: FakeTelegram, app: App) -> None:
    tg.send_user_message(USER, USER, "/menu")
    menu_msg = await tg.wait_for_message(USER, contains="Pick one", timeout=5)
    with pytest.raises(LookupError):
        tg.press_button(menu_msg, "nope")
    press = tg.press_button(menu_msg.message_id, label="Yes", chat_id=USER)
    assert press.data == "y:1"
    await tg.wait_for_message(USER, contains="chose y:1", timeout=5)


async def test_callback_query_answered_twice_is_rejected(tg: FakeTelegram, app: App) -> None:
    tg.send_user_message(USER, USER, "/menu")
    menu_msg = await tg.wait_for_message(USER, contains="Pick one", timeout=5)
    press = tg.press_button(menu_msg, "y:1")
    await tg.wait_for_callback_answer(press, timeout=5)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await app.bot.answer_callback_query(press.query_id)


# ----------------------------------------------------------------------------- limits


async def test_edit_to_identical_content_is_not_modified(tg: FakeTelegram, app: App) -> None:
    tg.add_chat(USER)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Stop", callback_data="stop")]])
    msg = await app.bot.send_message(USER, "working", reply_markup=keyboard)

    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await app.bot.edit_message_text("working", USER, msg.message_id, reply_markup=keyboard)
    # Same text without the keyboard is a change: it removes the keyboard.
    await app.bot.edit_message_text("working", USER, msg.message_id)
    assert tg.message(USER, msg.message_id).buttons == ()
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await app.bot.edit_message_reply_markup(USER, msg.message_id)


async def test_text_limit_counts_utf16_code_units(tg: FakeTelegram, app: App) -> None:
    tg.add_chat(USER)
    await app.bot.send_message(USER, "x" * 4096)
    await app.bot.send_message(USER, "😀" * 2048)  # 2048 characters, 4096 UTF-16 units
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await app.bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await app.bot.send_message(USER, "😀" * 2049)  # only 2049 characters
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await app.bot.send_message(USER, "  ")
    assert len(tg.sent_messages(USER)) == 2


async def test_caption_limit(tg: FakeTelegram, app: App) -> None:
    tg.add_chat(USER)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await app.bot.send_document(USER, b"data", filename="a.txt", caption="c" * 1025)
    sent = await app.bot.send_document(USER, b"data", filename="a.txt", caption="c" * 1024)
    assert sent.document is not None and sent.document.file_name == "a.txt"


async def test_callback_data_limit_is_64_bytes(tg: FakeTelegram, app: App) -> None:
    tg.add_chat(USER)

    def markup(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=data)]])

    await app.bot.send_message(USER, "ok", reply_markup=markup("a" * 64))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await app.bot.send_message(USER, "no", reply_markup=markup("a" * 65))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await app.bot.send_message(USER, "no", reply_markup=markup("é" * 33))  # 66 bytes
    assert [m.body for m in tg.sent_messages(USER)] == ["ok"]


async def test_entities_must_lie_inside_the_text(tg: FakeTelegram, app: App) -> None:
    tg.add_chat(USER)
    text = "😀 code"  # the emoji is two UTF-16 units: "code" starts at 3
    good = MessageEntity(MessageEntity.CODE, offset=3, length=4)
    sent = await app.bot.send_message(USER, text, entities=[good])
    assert tg.message(USER, sent.message_id).entity_texts("code") == ["code"]
    assert utf16_len(text) == 7

    bad = MessageEntity(MessageEntity.CODE, offset=3, length=5)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await app.bot.send_message(USER, text, entities=[bad])


async def test_unknown_chat_is_not_found(tg: FakeTelegram, app: App) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await app.bot.send_message(999, "hello?")


async def test_flood_control_raises_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # retry_after as timedelta, no warning
    clock = FakeClock()
    limits = RateLimits(per_chat_per_s=1.0, per_chat_burst=2)
    async with FakeTelegram(clock=clock, rate_limits=limits) as tg, polling(build_app(tg)) as app:
        tg.add_chat(USER)
        await app.bot.send_message(USER, "1")
        await app.bot.send_message(USER, "2")
        await app.bot.send_chat_action(USER, "typing")  # not counted
        with pytest.raises(RetryAfter) as caught:
            await app.bot.send_message(USER, "3")
        assert caught.value.retry_after == timedelta(seconds=1)
        assert tg.count_429(USER) == 1 and tg.count_429() == 1
        assert tg.calls("sendMessage")[-1].status == 429

        clock.now += 1.0
        await app.bot.send_message(USER, "3 again")
        assert [m.body for m in tg.sent_messages(USER)] == ["1", "2", "3 again"]


async def test_storm_answers_429_to_the_next_sends(
    tg: FakeTelegram, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    tg.add_chat(USER)
    tg.flood.storm(2, retry_after=7, chat_id=USER)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await app.bot.send_message(USER, "x")
        assert caught.value.retry_after == timedelta(seconds=7)
    await app.bot.send_message(USER, "through")
    assert tg.count_429(USER) == 2 and tg.flood.storm_left == 0


def test_group_limit_is_about_20_per_minute() -> None:
    clock = FakeClock()
    flood = FloodControl(RateLimits(), clock)
    for _ in range(120):  # one a second is fine in a private chat
        flood.check("sendMessage", USER)
        clock.now += 1.0
    sent = 0
    with pytest.raises(Exception, match="Too Many Requests"):
        while True:
            flood.check("sendMessage", GROUP)
            sent += 1
            clock.now += 1.0
    assert 20 <= sent <= 31  # a burst of 20, then one every 3 s
    assert flood.too_many_requests == {GROUP: 1}
    flood.check("sendChatAction", GROUP)  # never counted


def test_flood_control_can_be_switched_off() -> None:
    flood = FloodControl(RateLimits(enabled=False), FakeClock())
    for _ in range(100):
        flood.check("sendMessage", GROUP)
    assert not flood.too_many_requests


async def test_set_my_commands_validates_names(tg: FakeTelegram, app: App) -> None:
    await app.bot.set_my_commands([("sessions", "List sessions"), ("my_skill", "A skill")])
    assert tg.bot_commands == {"sessions": "List sessions", "my_skill": "A skill"}
    assert [c.command for c in await app.bot.get_my_commands()] == ["sessions", "my_skill"]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await app.bot.set_my_commands([("my-skill", "dash")])
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await app.bot.set_my_commands([("x" * 33, "too long")])
    with pytest.raises(BadRequest, match=r"(?i)description_invalid"):
        await app.bot.set_my_commands([("ok", "d" * 257)])
    assert list(tg.bot_commands) == ["sessions", "my_skill"]


async def test_reactions_actions_drafts_and_chat(tg: FakeTelegram, app: App) -> None:
    sent = tg.send_user_message(USER, USER, "queued while busy")
    await tg.wait_for_message(USER, contains="echo", timeout=5)
    assert "👍" in REACTION_EMOJI and "✅" not in REACTION_EMOJI

    await app.bot.set_message_reaction(USER, sent.message_id, "👀")
    with pytest.raises(BadRequest, match=r"(?i)reaction_invalid"):
        await app.bot.set_message_reaction(USER, sent.message_id, "✅")
    for _ in range(10):
        await app.bot.send_chat_action(USER, "typing")
    assert await app.bot.send_message_draft(USER, 5, "partial answer")
    chat = await app.bot.get_chat(USER)

    assert tg.message(USER, sent.message_id).reaction == ("👀",)
    assert [(r.message_id, r.emoji) for r in tg.reactions] == [(sent.message_id, ("👀",))]
    assert len(tg.chat_actions) == 10 and tg.chat_actions[0].action == "typing"
    assert [(d.draft_id, d.text) for d in tg.drafts] == [(5, "partial answer")]
    assert chat.id == USER and chat.type == "private"
    assert tg.count_429() == 0


async def test_delete_message(tg: FakeTelegram, app: App) -> None:
    tg.add_chat(USER)
    msg = await app.bot.send_message(USER, "ephemeral")
    assert await app.bot.delete_message(USER, msg.message_id)
    assert tg.message(USER, msg.message_id).deleted
    assert tg.transcript(USER) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await app.bot.delete_message(USER, msg.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await app.bot.edit_message_text("x", USER, msg.message_id)


# ----------------------------------------------------------------------------- files


async def test_photo_download_and_document_upload(tg: FakeTelegram, app: App) -> None:
    digest = hashlib.sha256(PNG_2X3).hexdigest()[:12]
    tg.send_user_message(USER, USER, "look", photo=PNG_2X3)

    reply = await tg.wait_for_message(USER, contains="photo", timeout=5)
    doc_msg = await tg.wait_for_message(USER, match=lambda m: m.document is not None, timeout=5)

    # photo[-1] is the real photo; photo[0] is a 1x1 thumbnail with other bytes.
    assert reply.body == f"photo 2x3 {len(PNG_2X3)} bytes {digest}"
    assert doc_msg.document is not None and doc_msg.document.data == PNG_2X3
    assert doc_msg.document.file_name == "back.png" and doc_msg.caption == "look"
    assert tg.calls("getFile")[-1].ok


async def test_bot_sends_a_photo(tg: FakeTelegram, app: App) -> None:
    tg.add_chat(USER)
    sent = await app.bot.send_photo(USER, PNG_2X3, caption="chart")
    assert sent.photo[-1].width == 2 and sent.photo[-1].height == 3
    shown = tg.message(USER, sent.message_id)
    assert shown.photo is not None and shown.photo.data == PNG_2X3
    assert shown.caption == "chart" and shown.text is None
    assert tg.calls("sendPhoto")[-1].params["photo"].data == PNG_2X3  # multipart upload


async def test_user_document_reaches_the_bot(tg: FakeTelegram, app: App) -> None:
    got: list[bytes] = []

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.document is not None
        file = await update.message.document.get_file()
        got.append(bytes(await file.download_as_bytearray()))

    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    tg.send_user_message(USER, USER, "notes", document=("notes.md", b"# hi\n"))
    await tg.wait_for(lambda: got, timeout=5, what="document download")
    assert got == [b"# hi\n"]


# ----------------------------------------------------------------------------- polling


async def test_updates_queued_before_start_are_delivered(tg: FakeTelegram) -> None:
    first = tg.send_user_message(USER, USER, "sent while the bot was down")
    tg.send_user_message(USER, USER, "and another")
    assert tg.pending_update_count == 2

    async with polling(build_app(tg)):
        await tg.wait_for_message(USER, contains="another", timeout=5)
    replies = [m.body for m in tg.sent_messages(USER)]
    assert replies == ["echo: sent while the bot was down", "echo: and another"]
    assert tg.dropped_updates == 0 and tg.pending_update_count == 0

    # Restart: only what arrived while down is delivered, nothing twice.
    tg.send_user_message(USER, USER, "while restarting")
    async with polling(build_app(tg)):
        await tg.wait_for_message(USER, contains="echo: while restarting", timeout=5)
    assert len(tg.sent_messages(USER)) == 3
    assert tg.deliveries(1) == 1 and first.message_id == 1


async def test_shutdown_is_clean_and_bounded(tg: FakeTelegram) -> None:
    app = build_app(tg)
    async with asyncio.timeout(10):
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=10)  # a long poll is in flight at stop
    tg.send_user_message(USER, USER, "last words")
    await tg.wait_for_message(USER, contains="last words", timeout=5)
    await tg.wait_for(
        lambda: any(c.status is None for c in tg.calls("getUpdates")), timeout=5, what="poll"
    )

    started = time.monotonic()
    async with asyncio.timeout(5):
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert time.monotonic() - started < 3
    cleanup = tg.calls("getUpdates")[-1]
    assert cleanup.params["timeout"] == 0 and cleanup.ok
    assert tg.pending_update_count == 0  # the cleanup poll confirmed the last update


async def test_wrong_token_is_unauthorized(tg: FakeTelegram) -> None:
    app = build_app(tg, token="999:not-the-token")
    with pytest.raises(InvalidToken):
        async with asyncio.timeout(5):
            await app.initialize()
    assert tg.calls("getMe")[-1].status == 401
    # A failed initialize leaves PTB's HTTP clients open and app.shutdown() skips them
    # (the app never became initialized); only the bot's own shutdown closes them.
    await app.bot.shutdown()


async def test_long_poll_offset_timeout_and_conflict(tg: FakeTelegram) -> None:
    url = f"{tg.root_url}/bot{tg.token}/getUpdates"
    connector = aiohttp.TCPConnector(force_close=True)  # no pooled sockets left behind
    async with aiohttp.ClientSession(connector=connector) as http, asyncio.timeout(10):
        started = time.monotonic()
        async with http.post(url, data={"timeout": "0"}) as resp:
            assert (await resp.json())["result"] == []
        assert time.monotonic() - started < 0.5  # timeout=0 does not wait

        async def deliver_soon() -> None:
            await asyncio.sleep(0.1)
            tg.send_user_message(USER, USER, "wake up")

        task = asyncio.create_task(deliver_soon())
        async with http.post(url, data={"timeout": "5"}) as resp:
            updates = (await resp.json())["result"]
        await task
        assert [u["message"]["text"] for u in updates] == ["wake up"]
        assert time.monotonic() - started < 2

        async with http.post(url, data={"offset": str(updates[0]["update_id"] + 1)}) as resp:
            assert (await resp.json())["result"] == []
        assert tg.pending_update_count == 0

        older = asyncio.create_task(http.post(url, data={"timeout": "5"}))
        await tg.wait_for(lambda: len(tg.calls("getUpdates")) == 4, timeout=5)
        async with http.post(url, data={"timeout": "0"}) as resp:
            assert resp.status == 200
        async with await older as resp:
            assert resp.status == 409
            assert "terminated by other getUpdates" in (await resp.json())["description"]


async def test_raw_updates_and_unknown_methods(tg: FakeTelegram, app: App) -> None:
    chat = tg.add_chat(USER)
    user = {"id": USER, "is_bot": False, "first_name": "Raw"}
    message = {"message_id": 900, "date": 0, "chat": chat, "from": user, "text": "raw"}
    update_id = tg.queue_update({"message": message})
    with pytest.raises(ValueError, match="update_id"):
        tg.queue_update({"update_id": update_id, "message": message})
    await tg.wait_for_message(USER, contains="echo: raw", timeout=5)
    assert await app.bot.do_api_request("someFutureMethod", api_kwargs={"x": 1}) is True
    assert tg.calls("someFutureMethod")[-1].params == {"x": 1}


def test_privacy_mode_hides_group_chatter() -> None:
    tg = FakeTelegram(privacy_mode=True)
    tg.send_user_message(GROUP, USER, "just chatting", chat_type="group")
    assert tg.pending_update_count == 0
    tg.send_user_message(GROUP, USER, "/status", chat_type="group")
    tg.send_user_message(GROUP, USER, f"hey @{tg.bot_username} look", chat_type="group")
    assert tg.pending_update_count == 2
    with pytest.raises(ValueError, match="empty"):
        tg.send_user_message(USER, USER, "")


async def test_wait_for_message_times_out_with_the_chat(tg: FakeTelegram) -> None:
    tg.send_user_message(USER, USER, "nobody answers")
    with pytest.raises(TimeoutError, match="nobody answers"):
        await tg.wait_for_message(USER, contains="reply", timeout=0.2)
