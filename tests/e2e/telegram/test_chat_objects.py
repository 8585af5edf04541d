"""Per-chat objects only for authorized chats, none kept once idle (issue 10, finding 6):
the update router over real PTB and the fake Bot API, the shared command layer over
scripted turns."""

from __future__ import annotations

from telegram import Update
from telegram.ext import TypeHandler

from chat_adapters.dispatch import ChatDispatcher
from chat_adapters.interactions import Interactions
from chat_adapters.telegram.updates import UpdateRouter
from storage import ChatKey
from tests.e2e.telegram.harness import build_ptb, polling
from tests.e2e.test_dispatch import until
from tests.fakes.telegram_api import FakeTelegram

ALLOWED, STRANGER = 1, 6666  # the dispatcher fixture allows telegram user "1"
WAIT_S = 30.0


async def test_strangers_leave_nothing_and_a_finished_turn_leaves_no_chat_line(
    tg: FakeTelegram, scripted: ChatDispatcher
) -> None:
    dispatcher = scripted
    app = build_ptb(tg)
    router = UpdateRouter(dispatcher, app.bot, Interactions("telegram"))
    app.add_handler(TypeHandler(Update, router.handle))
    async with polling(app):
        try:
            for n in range(3):
                tg.send_user_message(STRANGER, STRANGER, f"let me in {n}")
            await tg.wait_for_message(STRANGER, contains="not allowed", timeout=WAIT_S)
            await tg.wait_for(lambda: tg.pending_update_count == 0, timeout=WAIT_S, what="")
            assert len(router.chats) == 0 and router.chats.outboxes == 0
            assert len([m for m in tg.sent_messages(STRANGER)]) == 1, "told once"

            sent = tg.send_user_message(ALLOWED, ALLOWED, "hello")
            await tg.wait_for_message(
                ALLOWED, after=sent.message_id, contains="to: hello", timeout=WAIT_S
            )
            chat = ChatKey.of("telegram", ALLOWED)
            await until(lambda: not dispatcher.has_work(chat), "the chat line is dropped")
            assert dispatcher.flow.holders == {}, "no holder left behind"
            assert len(router.chats) == 1
        finally:
            await router.aclose()
