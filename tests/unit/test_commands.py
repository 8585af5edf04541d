"""The single command list and the views built from it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from chat_adapters import session_commands
from chat_adapters.command_calls import CommandCall, CommandGroup, handler_table
from chat_adapters.commands import COMMANDS, CommandSpec, commands_for, parse_command
from chat_adapters.dispatch import HANDLERS
from chat_adapters.session_views import handoff_text, session_label
from session_core.catalog import SessionSummary


def test_every_command_is_valid_for_both_apps() -> None:
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))
    for command in COMMANDS:
        assert re.fullmatch(r"[a-z0-9_]{1,32}", command.name)
        assert 3 <= len(command.description) <= 100
    assert {c.name for c in commands_for("telegram")} >= {"sessions", "resume", "cd", "start"}
    assert "ask" in {c.name for c in commands_for("discord")}
    assert "start" not in {c.name for c in commands_for("discord")}


def test_bad_declarations_fail_at_once() -> None:
    with pytest.raises(ValueError):
        CommandSpec("My-Skill", "a skill")


def test_every_spec_has_a_handler_and_every_handler_a_spec() -> None:
    assert set(HANDLERS) == {c.name for c in COMMANDS if not c.app_handles}
    assert {c.name for c in COMMANDS if c.app_handles} == {"ask"}, "Discord's bot answers /ask"


def test_a_spec_without_a_handler_fails() -> None:
    lonely = CommandSpec("lonely", "a command nobody handles")
    with pytest.raises(ValueError, match="lonely"):
        handler_table([session_commands.group], specs=[*COMMANDS, lonely])


def test_a_handler_without_a_spec_fails() -> None:
    with pytest.raises(ValueError, match="spare"):
        handler_table([session_commands.group], specs=())
    with pytest.raises(ValueError):
        CommandGroup()("frobnicate")  # no spec of that name: refused where it is written
    with pytest.raises(ValueError):
        CommandGroup()("ask")  # the app handles it: a handler here would be dead


def test_a_command_handled_twice_fails() -> None:
    again = CommandGroup()

    @again("help")
    async def other_help(call: CommandCall) -> None:
        del call

    with pytest.raises(ValueError, match="two handlers"):
        handler_table([session_commands.group, again])


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("/cd my project ", ("cd", "my project")),
        ("/Sessions@baton_bot", ("sessions", "")),
        ("/new@other_bot", None),
        ("hello", None),
    ],
)
def test_parse_command(text: str, parsed: tuple[str, str] | None) -> None:
    assert parse_command(text, "baton_bot") == parsed


def test_session_label_fits_a_button() -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    summary = SessionSummary(
        session_id="0211e2fa-1111-2222-3333-444455556666",
        project="/p",
        first_prompt="refactor " * 30,
        last_prompt="x",
        last_activity=now - timedelta(minutes=5),
        prompt_count=3,
        has_transcript=True,
        live=None,
    )
    label = session_label(summary, now)
    assert len(label) <= 64
    assert label.endswith("· 5 min ago · 3")


def test_handoff_quotes_the_directory() -> None:
    text = handoff_text("abc", "/work/my proj")
    assert "cd '/work/my proj' && claude --resume abc" in text
