"""How Discord messages are put together: Markdown text plus escaped status subtext,
always within 2000 characters; thread names within Discord's 1–100."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chat_adapters.discord.rendering import (
    MESSAGE_LIMIT,
    compose,
    discord_capabilities,
    render_status,
    thread_name,
)
from chat_adapters.surface import fit_status

CAPS = discord_capabilities(threads=True)


def test_capabilities_describe_discord() -> None:
    assert CAPS.max_message_length == 2000 and CAPS.length_unit == "characters"
    assert CAPS.can_edit and CAPS.min_edit_interval_s == 1.0
    assert CAPS.button_data_limit_bytes == 100 and CAPS.max_buttons_per_row == 5
    assert CAPS.supports_files and CAPS.max_file_bytes == 8 * 1024 * 1024
    assert CAPS.has_threads and not discord_capabilities(threads=False).has_threads


def test_status_lines_are_escaped_subtext() -> None:
    rendered = render_status(["▸ Bash: rm *.py  _tmp_", "", "✓ Read"])
    assert rendered == "-# ▸ Bash: rm \\*.py \\_tmp\\_\n-# ✓ Read"


def test_compose_puts_status_under_the_text() -> None:
    assert compose("**hi**\n\n", ("⏹ Interrupted",)) == "**hi**\n\n-# ⏹ Interrupted"
    assert compose("", ("✓ Done",)) == "-# ✓ Done"
    assert compose("just text") == "just text"


def test_compose_drops_the_oldest_status_lines_first() -> None:
    text = "x" * 1990
    content = compose(text, ("old line", "new"))
    assert content == text + "\n\n-# new"
    assert compose("y" * 1999, ("a", "b")) == "y" * 1999


@given(
    text=st.text(min_size=0, max_size=CAPS.text_budget),
    lines=st.lists(st.text(min_size=0, max_size=120), max_size=30),
)
def test_compose_never_exceeds_the_limit_nor_cuts_the_text(text: str, lines: list[str]) -> None:
    status = fit_status(lines, CAPS)
    content = compose(text, status)
    assert len(content) <= MESSAGE_LIMIT
    assert content.startswith(text.rstrip())


@given(st.text(max_size=300))
def test_thread_names_are_one_line_of_1_to_100(title: str) -> None:
    name = thread_name(title)
    assert 1 <= len(name) <= 100
    assert "\n" not in name
    if title.split():
        assert name.split()[0] == title.split()[0][:99] or name.endswith("…")
    else:
        assert name == "Claude session"
