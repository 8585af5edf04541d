"""Claude Code's command list: parsing, Telegram's menu rules, refusals, /context."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chat_adapters.claude_commands import context_table, find, menu_entries, telegram_name
from chat_adapters.commands import commands_for
from session_core.claude_commands import (
    ClaudeCommand,
    CommandBook,
    ContextUsage,
    parse_commands,
    refusal,
)


def test_parse_keeps_named_unique_commands_in_order() -> None:
    info = {
        "commands": [
            {"name": "compact", "description": "Clear history\n but keep a summary"},
            {"name": "/deploy", "description": "Deploy", "argumentHint": "<env>"},
            {"name": "compact", "description": "again"},
            {"name": ""},
            "junk",
        ]
    }
    assert parse_commands(info) == (
        ClaudeCommand("compact", "Clear history but keep a summary"),
        ClaudeCommand("deploy", "Deploy", "<env>"),
    )
    assert parse_commands(None) == () and parse_commands({"commands": "x"}) == ()


def test_telegram_names_and_lookup() -> None:
    assert telegram_name("security-review") == "security_review"
    assert telegram_name("plugin:Do-It") == "plugin_do_it"
    assert telegram_name("x" * 40) == "x" * 32
    commands = (ClaudeCommand("security-review"), ClaudeCommand("deploy"))
    assert find("security_review", commands) == commands[0]
    assert find("/DEPLOY", commands) == commands[1]
    assert find("nope", commands) is None


def test_terminal_only_commands_are_refused_with_a_reason() -> None:
    why = refusal("login")
    assert why is not None and "needs a terminal" in why
    assert refusal("compact") is None and refusal("deploy") is None


def test_menu_keeps_the_bots_commands_first_and_skips_clashes_and_refusals() -> None:
    own = commands_for("telegram")
    claude = (
        ClaudeCommand("help", "Claude's help"),
        ClaudeCommand("vim"),
        ClaudeCommand("deploy", ""),
        ClaudeCommand("review", "r" * 400),
    )
    entries = dict(menu_entries(own, claude))
    assert entries["help"] == next(c.description for c in own if c.name == "help")
    assert "vim" not in entries
    assert entries["deploy"] == "Claude Code /deploy"
    assert len(entries["review"]) == 256


@given(st.lists(st.text(min_size=1, max_size=60), max_size=300))
def test_menu_always_fits_telegram(names: list[str]) -> None:
    entries = menu_entries(commands_for("telegram"), [ClaudeCommand(n, n) for n in names])
    assert len(entries) <= 100
    assert len({name for name, _ in entries}) == len(entries)
    for name, description in entries:
        assert telegram_name(name) == name
        assert 1 <= len(description) <= 256


def test_command_book_forgets_after_a_while() -> None:
    now = [0.0]
    book = CommandBook(clock=lambda: now[0])
    book.remember("/p", {"commands": [{"name": "deploy"}]})
    assert book.fresh("/p") == (ClaudeCommand("deploy"),)
    now[0] = 10_000.0
    assert book.fresh("/p") is None and book.known("/p") == (ClaudeCommand("deploy"),)


def test_context_table() -> None:
    usage = ContextUsage.parse(
        {
            "model": "claude-x",
            "totalTokens": 20500,
            "maxTokens": 200000,
            "percentage": 10.25,
            "categories": [
                {"name": "System prompt", "tokens": 3000},
                {"name": "Messages", "tokens": 17500},
                {"name": "Skills", "tokens": 0},
                {"name": "Free space", "tokens": 179500},
            ],
        }
    )
    table = context_table(usage)
    assert table.startswith("**Context** 10% used · claude-x\n```")
    assert "\nMessages         17,500\n" in table
    assert "Skills" not in table and "Free space" in table
    assert "\nTotal            20,500 / 200,000\n" in table
