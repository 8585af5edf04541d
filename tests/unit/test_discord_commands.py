"""Slash commands come from the single command list, with Discord's own limits."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands

from chat_adapters.commands import commands_for
from chat_adapters.discord.slash_commands import autocomplete_choices, build_command

SPECS = commands_for("discord")


async def _handle(*_: Any) -> None:
    return None


async def _complete(*_: Any) -> list[app_commands.Choice[str]]:
    return []


@pytest.fixture(scope="module")
def payloads() -> dict[str, dict[str, Any]]:
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    return {spec.name: build_command(spec, _handle, _complete).to_dict(tree) for spec in SPECS}


def test_every_discord_command_and_only_those(payloads: dict[str, dict[str, Any]]) -> None:
    assert list(payloads) == [spec.name for spec in SPECS]
    assert "ask" in payloads and "start" not in payloads, "/start is Telegram's"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_options_are_typed_strings_as_declared(
    spec: Any, payloads: dict[str, dict[str, Any]]
) -> None:
    payload = payloads[spec.name]
    assert payload["description"] == spec.description
    options = {o["name"]: o for o in payload["options"]}
    assert set(options) == {o.name for o in spec.options}
    for option in spec.options:
        sent = options[option.name]
        assert sent["type"] == 3, "a string option"
        assert sent["required"] == option.required
        assert sent["description"] == option.description
        assert [c["value"] for c in sent.get("choices", [])] == list(option.choices)
        assert sent.get("autocomplete", False) == (option.completion is not None)


def test_required_options_come_first_as_discord_demands(
    payloads: dict[str, dict[str, Any]],
) -> None:
    for payload in payloads.values():
        flags = [o["required"] for o in payload["options"]]
        assert flags == sorted(flags, reverse=True)


def test_autocomplete_answers_at_most_25_carryable_choices() -> None:
    found = [(f"session {i}", f"id-{i}") for i in range(40)]
    choices = autocomplete_choices(found)
    assert [c.value for c in choices] == [f"id-{i}" for i in range(25)]

    odd = [("  two\nlines  ", "v1"), ("x" * 150, "v2"), ("too long", "p" * 101), ("", "v3")]
    choices = autocomplete_choices(odd)
    assert [(c.name, c.value) for c in choices] == [
        ("two lines", "v1"),
        ("x" * 99 + "…", "v2"),
        ("v3", "v3"),
    ], "a value over 100 characters is left out, never cut into another value"
