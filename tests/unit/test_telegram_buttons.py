"""Button keys: short, bound to their chat, answered by their handler while it lives,
and answered clearly (never silently) once it is gone, restarts included."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chat_adapters.telegram.buttons import (
    EXPIRED,
    EXPIRED_AFTER_RESTART,
    WITHDRAWN,
    Buttons,
    PressReply,
    button_data,
)
from storage import Database

CHAT = 77


class Recorder:
    def __init__(self) -> None:
        self.presses: list[tuple[str, int]] = []

    async def __call__(self, suffix: str, user_id: int) -> PressReply:
        self.presses.append((suffix, user_id))
        return PressReply(f"got {suffix}")


async def test_a_press_reaches_its_handler_with_the_option() -> None:
    buttons, handler = Buttons(), Recorder()
    key = await buttons.register(CHAT, handler, kind="choice")
    data = button_data(key, "2")
    assert len(data.encode()) <= 64
    assert (await buttons.press(data, CHAT, 5)).text == "got 2"
    assert handler.presses == [("2", 5)]


async def test_a_key_is_no_use_in_another_chat() -> None:
    buttons, handler = Buttons(), Recorder()
    key = await buttons.register(CHAT, handler, kind="stop")
    reply = await buttons.press(key, CHAT + 1, 5)
    assert reply == PressReply(EXPIRED, remove_keyboard=True)
    assert handler.presses == []


async def test_released_and_unknown_keys_expire_and_lose_their_keyboard() -> None:
    buttons, handler = Buttons(), Recorder()
    key = await buttons.register(CHAT, handler, kind="stop")
    await buttons.release(key)
    assert await buttons.press(key, CHAT, 5) == PressReply(EXPIRED, remove_keyboard=True)
    assert await buttons.press("", CHAT, 5) == PressReply(EXPIRED, remove_keyboard=True)
    assert await buttons.press("nonsense:9", CHAT, 5) == PressReply(EXPIRED, remove_keyboard=True)
    assert len(buttons) == 0


async def test_a_withdrawn_question_says_so(database: Database) -> None:
    buttons = Buttons(database.pending)
    key = await buttons.register(CHAT, Recorder(), kind="choice", ttl=timedelta(minutes=5))
    await buttons.release(key, withdrawn=True)
    reply = await buttons.press(button_data(key, "0"), CHAT, 5)
    assert reply == PressReply(WITHDRAWN, remove_keyboard=True)


async def test_a_question_from_before_a_restart_is_answered_clearly(database: Database) -> None:
    before = Buttons(database.pending)
    key = await before.register(
        CHAT, Recorder(), kind="choice", payload={"title": "Allow?"}, ttl=timedelta(minutes=5)
    )
    assert await database.pending.get(key) is not None

    after = Buttons(database.pending)  # a new process: no handlers, the same database
    reply = await after.press(button_data(key, "1"), CHAT, 5)
    assert reply.text == EXPIRED_AFTER_RESTART and reply.remove_keyboard
    again = await after.press(button_data(key, "1"), CHAT, 5)
    assert again.text == EXPIRED, "one press took the record"


async def test_an_answered_question_leaves_nothing_behind(database: Database) -> None:
    buttons = Buttons(database.pending)
    key = await buttons.register(CHAT, Recorder(), kind="choice", ttl=timedelta(minutes=5))
    await buttons.release(key)
    assert await database.pending.get(key) is None


def test_button_data_refuses_more_than_64_bytes() -> None:
    assert button_data("k" * 12, "3") == "kkkkkkkkkkkk:3"
    with pytest.raises(ValueError, match="64 bytes"):
        button_data("k" * 60, "é" * 3)
