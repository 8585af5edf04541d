"""Components the bot sends: short custom ids that its templates recognise, Discord's
layout limits, and the router that matches clicks and typed answers to prompts."""

from __future__ import annotations

import re
from typing import Any

import discord
import pytest

from chat_adapters.choices import Choice, ChoicePrompt, question_prompt
from chat_adapters.discord.components import (
    CHOICE_TEMPLATE,
    SELECT_TEMPLATE,
    STOP_TEMPLATE,
    ComponentRouter,
    choice_view,
    new_key,
    stop_view,
)


def prompt_with(n: int, *, free_text: bool = False) -> ChoicePrompt:
    return ChoicePrompt(
        title="Pick",
        options=tuple(Choice(f"o{i}", f"Option number {i}") for i in range(n)),
        timeout_choice="o0",
        timeout_s=60,
        allows_free_text=free_text,
    )


def rows(view: discord.ui.View) -> list[dict[str, Any]]:
    return view.to_components()


async def test_up_to_five_options_are_one_row_of_buttons() -> None:
    prompt = question_prompt("Which?", ["Red", "Blue"])
    layout = rows(choice_view(prompt, new_key()))
    assert len(layout) == 1
    buttons = layout[0]["components"]
    assert [b["label"] for b in buttons] == ["Red", "Blue", "Skip"]
    for button in buttons:
        assert len(button["custom_id"]) <= 100
        assert re.fullmatch(CHOICE_TEMPLATE, button["custom_id"])


@pytest.mark.parametrize(("options", "menus"), [(6, 1), (25, 1), (26, 2), (125, 5)])
async def test_more_options_become_select_menus(options: int, menus: int) -> None:
    layout = rows(choice_view(prompt_with(options), new_key()))
    assert len(layout) == menus <= 5
    values: list[str] = []
    for row in layout:
        (select,) = row["components"]
        assert select["type"] == 3 and re.fullmatch(SELECT_TEMPLATE, select["custom_id"])
        assert 1 <= len(select["options"]) <= 25
        values.extend(option["value"] for option in select["options"])
    assert values == [str(i) for i in range(options)], "every option, once, in order"


async def test_more_than_discord_can_show_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at most 125"):
        choice_view(prompt_with(126), new_key())


async def test_stop_button() -> None:
    (row,) = rows(stop_view("abc"))
    (button,) = row["components"]
    assert button["label"] == "Stop" and re.fullmatch(STOP_TEMPLATE, button["custom_id"])


async def _allow(interaction: discord.Interaction[Any], action: str) -> bool:
    return True


async def test_typed_answers_go_to_the_oldest_open_free_text_prompt() -> None:
    router = ComponentRouter(_allow)
    closed = router.open_prompt(prompt_with(2), 7, str)
    first = router.open_prompt(prompt_with(2, free_text=True), 7, str)
    second = router.open_prompt(prompt_with(2, free_text=True), 7, str)
    elsewhere = router.open_prompt(prompt_with(2, free_text=True), 8, str)

    assert not router.answer_typed(7, "   ")
    assert router.answer_typed(7, "one")
    assert first.answer.result().text == "one"
    assert router.answer_typed(7, "two")
    assert second.answer.result().text == "two"
    assert not router.answer_typed(7, "three"), "buttons-only prompts take no typed text"
    assert not closed.answer.done() and not elsewhere.answer.done()
    assert router.has_typed_prompt(8) and not router.has_typed_prompt(7)

    assert router.close_prompt(elsewhere)
    assert not router.close_prompt(elsewhere), "closing twice reports the first close"
    assert not router.answer_typed(8, "late")
    assert not router.close_prompt(first), "a typed answer already closed it"
    assert router.close_prompt(closed)


async def test_keys_are_unique_and_short() -> None:
    keys = {new_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{12}", key) for key in keys)
