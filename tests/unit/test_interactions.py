"""The interactions registry both apps share: keys bound to their chat, answered by
their handler while they live, and answered clearly (never silently) once they are
gone, restarts included; typed answers find the oldest open free-text prompt."""

from __future__ import annotations

import re

import pytest

from chat_adapters.choices import Choice, ChoicePrompt
from chat_adapters.interactions import (
    ANSWERED,
    EXPIRED,
    EXPIRED_AFTER_RESTART,
    FINISHED,
    MAX_CLOSED,
    NOT_AN_OPTION,
    STOPPING,
    WITHDRAWN,
    Interactions,
    Presser,
    PressReply,
    StopPress,
    answer_note,
    new_key,
)
from chat_adapters.telegram.buttons import button_data, parse_data
from storage import Database

CHAT = "77"
ALICE = Presser("5", "Alice")


class Recorder:
    def __init__(self) -> None:
        self.presses: list[tuple[str, str]] = []

    async def __call__(self, suffix: str, presser: Presser) -> PressReply:
        self.presses.append((suffix, presser.user_id))
        return PressReply(f"got {suffix}")


def prompt_with(n: int, *, free_text: bool = False, timeout_s: float = 60) -> ChoicePrompt:
    return ChoicePrompt(
        title="Pick",
        options=tuple(Choice(f"o{i}", f"Option {i}") for i in range(n)),
        timeout_choice="o0",
        timeout_s=timeout_s,
        allows_free_text=free_text,
    )


@pytest.mark.parametrize("app", ["telegram", "discord"])
async def test_a_press_reaches_its_handler_with_the_option(app: str) -> None:
    interactions, handler = Interactions(app), Recorder()
    key = await interactions.open(CHAT, handler, kind="other")
    assert (await interactions.press(key, "2", CHAT, ALICE)).text == "got 2"
    assert handler.presses == [("2", "5")]


async def test_a_key_is_no_use_in_another_chat() -> None:
    interactions, handler = Interactions("telegram"), Recorder()
    key = await interactions.open(CHAT, handler, kind="stop")
    reply = await interactions.press(key, "", "78", ALICE)
    assert reply == PressReply(EXPIRED, remove_buttons=True)
    assert handler.presses == []


async def test_closed_and_unknown_keys_say_why_and_lose_their_buttons() -> None:
    interactions = Interactions("discord")
    stop = await interactions.open(CHAT, Recorder(), kind="stop")
    question = await interactions.open(CHAT, Recorder(), kind="question")
    await interactions.close(stop)
    await interactions.close(question)
    assert await interactions.press(stop, "", CHAT, ALICE) == PressReply(FINISHED, True)
    assert await interactions.press(question, "0", CHAT, ALICE) == PressReply(ANSWERED, True)
    assert await interactions.press("", "", CHAT, ALICE) == PressReply(EXPIRED, True)
    assert await interactions.press("nonsense", "9", CHAT, ALICE) == PressReply(EXPIRED, True)
    assert len(interactions) == 0


async def test_the_press_gate_sees_kind_and_label_and_may_refuse() -> None:
    seen: list[tuple[str, str, str, str]] = []

    def gate(chat: str, user: str, kind: str, label: str) -> str | None:
        seen.append((chat, user, kind, label))
        return "no" if user == "6" else None

    interactions = Interactions("telegram", gate=gate)
    choice = await interactions.open_choice(prompt_with(2), chat=CHAT, where="telegram:77")
    refused = await interactions.press(choice.key, "1", CHAT, Presser("6"))
    assert refused == PressReply("no", alert=True) and not choice.answered
    chosen = await interactions.press(choice.key, "1", CHAT, ALICE)
    assert chosen.chosen == "Option 1" and choice.by_press
    assert await choice.wait() == choice.prompt.answer("o1")
    assert seen[-1] == (CHAT, "5", "other", "Option 1")
    assert (await interactions.press(choice.key, "0", CHAT, ALICE)).text == ANSWERED
    assert (await interactions.press(choice.key, "7", CHAT, ALICE)).text == NOT_AN_OPTION


async def test_a_withdrawn_question_says_so(database: Database) -> None:
    interactions = Interactions("telegram", database.pending)
    choice = await interactions.open_choice(prompt_with(2), chat=CHAT, where="telegram:77")
    await interactions.close_choice(choice, None)
    reply = await interactions.press(choice.key, "0", CHAT, ALICE)
    assert reply == PressReply(WITHDRAWN, remove_buttons=True)


@pytest.mark.parametrize("app", ["telegram", "discord"])
async def test_a_question_from_before_a_restart_is_answered_the_same_way_on_every_app(
    app: str, database: Database
) -> None:
    before = Interactions(app, database.pending)
    choice = await before.open_choice(prompt_with(2), chat=CHAT, where=f"{app}:77")
    assert await database.pending.get(choice.key) is not None

    after = Interactions(app, database.pending)  # a new process, the same database
    reply = await after.press(choice.key, "1", CHAT, ALICE)
    assert reply == PressReply(EXPIRED_AFTER_RESTART, remove_buttons=True, alert=True)
    again = await after.press(choice.key, "1", CHAT, ALICE)
    assert again.text == EXPIRED, "one press took the record"


async def test_an_answered_question_leaves_nothing_behind(database: Database) -> None:
    interactions = Interactions("discord", database.pending)
    choice = await interactions.open_choice(prompt_with(2), chat=CHAT, where="discord:77")
    await interactions.press(choice.key, "0", CHAT, ALICE)
    await interactions.close_choice(choice, await choice.wait())
    assert await database.pending.get(choice.key) is None


async def test_typed_answers_go_to_the_oldest_open_free_text_prompt() -> None:
    interactions = Interactions("discord")
    buttons_only = await interactions.open_choice(prompt_with(2), chat=CHAT, where="d:7")
    first = await interactions.open_choice(prompt_with(2, free_text=True), chat=CHAT, where="d:7")
    second = await interactions.open_choice(prompt_with(2, free_text=True), chat=CHAT, where="d:7")
    elsewhere = await interactions.open_choice(
        prompt_with(2, free_text=True), chat=CHAT, where="d:8"
    )

    assert not interactions.answer_typed("d:7", "   ")
    assert interactions.answer_typed("d:7", "one")
    assert (await first.wait()).text == "one"
    assert interactions.answer_typed("d:7", "two")
    assert (await second.wait()).text == "two"
    assert not interactions.answer_typed("d:7", "three"), "buttons-only prompts take no text"
    assert not buttons_only.answered and not elsewhere.answered
    assert interactions.waiting_for_text("d:8") and not interactions.waiting_for_text("d:7")

    await interactions.close_choice(elsewhere, None)
    assert not interactions.answer_typed("d:8", "late")
    assert not interactions.waiting_for_text("d:8")


async def test_no_answer_in_time_is_the_timeout_choice() -> None:
    interactions = Interactions("telegram")
    choice = await interactions.open_choice(prompt_with(2, timeout_s=0.01), chat=CHAT, where="t")
    answer = await choice.wait()
    assert answer == choice.prompt.timeout_answer()
    assert answer_note(choice.prompt, answer) == "⏱ No answer in time: Option 0"
    assert (await interactions.press(choice.key, "1", CHAT, ALICE)).text == ANSWERED


async def test_stop_runs_once_after_the_press_is_acknowledged() -> None:
    stops: list[int] = []

    async def on_stop() -> None:
        stops.append(1)

    stop = StopPress(on_stop)
    first = await stop.pressed("", ALICE)
    assert first.text == STOPPING and first.then is not None and stops == []
    await first.then()
    assert (await stop.pressed("", ALICE)).then is None and stops == [1]
    stop.finished = True
    assert (await stop.pressed("", ALICE)).remove_buttons


async def test_closed_keys_are_remembered_up_to_a_bound() -> None:
    interactions = Interactions("telegram")
    keys = [await interactions.open(CHAT, Recorder(), kind="x") for _ in range(MAX_CLOSED + 10)]
    for key in keys:
        await interactions.close(key, withdrawn=True)
    assert len(interactions) == 0
    assert (await interactions.press(keys[-1], "", CHAT, ALICE)).text == WITHDRAWN
    assert (await interactions.press(keys[0], "", CHAT, ALICE)).text == EXPIRED, "forgotten"


async def test_keys_are_unique_short_and_fit_both_apps() -> None:
    keys = {new_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{12}", key) for key in keys)
    key = next(iter(keys))
    assert parse_data(button_data(key, "3")) == (key, "3")
    assert parse_data(button_data(key)) == (key, "")


def test_button_data_refuses_more_than_64_bytes() -> None:
    assert button_data("k" * 12, "3") == "kkkkkkkkkkkk:3"
    with pytest.raises(ValueError, match="64 bytes"):
        button_data("k" * 60, "é" * 3)
