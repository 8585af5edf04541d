"""Components the bot sends: short custom ids that its templates recognise, Discord's
layout limits (what a key means is tested in ``test_interactions``)."""

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
    choice_view,
    stop_view,
)
from chat_adapters.interactions import new_key


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


async def test_keys_are_unique_and_short() -> None:
    keys = {new_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{12}", key) for key in keys)
