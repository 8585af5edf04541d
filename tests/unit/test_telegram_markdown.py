"""Markdown → Telegram text + entities: never fails, fits, loses no words."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_adapters.telegram import markdown as md
from chat_adapters.telegram.markdown import (
    TELEGRAM_MESSAGE_LIMIT,
    RenderedMessage,
    TextEntity,
    render_markdown,
)
from chat_adapters.text_split import utf16_length


def covered(message: RenderedMessage, entity: TextEntity) -> str:
    """The text an entity covers, counting in UTF-16 units as Telegram does."""
    raw = message.text.encode("utf-16-le", "surrogatepass")
    part = raw[entity.offset * 2 : entity.end * 2]
    return part.decode("utf-16-le", "surrogatepass")


def assert_valid(messages: list[RenderedMessage], limit: int = TELEGRAM_MESSAGE_LIMIT) -> None:
    for message in messages:
        size = utf16_length(message.text)
        assert 0 < size <= limit
        assert message.text == message.text.strip()
        spans: list[TextEntity] = []
        for entity in message.entities:
            assert entity.offset >= 0 and entity.length > 0 and entity.end <= size, entity
            if entity.type == "text_link":
                assert entity.url and entity.url.split("://")[0].lower() in ("http", "https", "tg")
            for other in spans:  # properly nested: disjoint or one inside the other
                disjoint = entity.offset >= other.end or other.offset >= entity.end
                inside = other.offset <= entity.offset and entity.end <= other.end
                contains = entity.offset <= other.offset and other.end <= entity.end
                assert disjoint or inside or contains, (other, entity)
                if inside and other.type in ("pre", "code"):
                    raise AssertionError(f"{entity} inside {other}")
            spans.append(entity)


def alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def without_headers(messages: list[RenderedMessage]) -> str:
    """The words shown, minus table headers (``AA BB``/``H1 H2``) repeated per piece."""
    shown = alnum("".join(m.text for m in messages))
    return shown.replace("AABB", "").replace("H1H2", "")


def shown_part(markdown: str) -> str:
    """What of ``markdown`` a reader sees: no link targets, no fence info strings."""
    without_links = re.sub(r"\]\(https://e\.x/[^)]*\)", "]", markdown)
    return re.sub(r"^```\w*$", "", without_links, flags=re.MULTILINE)


# -- examples -------------------------------------------------------------------------


def test_formatting_becomes_entities_without_markup() -> None:
    [message] = render_markdown("Some **bold**, *italic*, `code` and [a link](https://x.org).")
    assert message.text == "Some bold, italic, code and a link."
    kinds = {(e.type, covered(message, e)) for e in message.entities}
    assert kinds == {
        ("bold", "bold"),
        ("italic", "italic"),
        ("code", "code"),
        ("text_link", "a link"),
    }
    link = next(e for e in message.entities if e.type == "text_link")
    assert link.to_dict() == {
        "type": "text_link",
        "offset": link.offset,
        "length": 6,
        "url": "https://x.org",
    }


def test_code_block_is_pre_with_its_language() -> None:
    [message] = render_markdown("Run:\n\n```python\nprint('hi')\n```")
    [pre] = [e for e in message.entities if e.type == "pre"]
    assert covered(message, pre) == "print('hi')"
    assert pre.language == "python"


def test_table_is_monospace() -> None:
    [message] = render_markdown("| name | size |\n|---|---|\n| a.py | 12 |\n| b.py | 3 |")
    [pre] = [e for e in message.entities if e.type == "pre"]
    table = covered(message, pre)
    assert "name" in table and "b.py" in table
    columns = {line.replace("+", "|").index("|") for line in table.splitlines()}
    assert len(columns) == 1, f"columns are aligned: {table!r}"


def test_unsafe_links_and_odd_languages_are_dropped_but_text_kept() -> None:
    [message] = render_markdown(
        "[click](javascript:alert(1)) and [rel](docs/a.md)\n\n```my lang!\nx\n```"
    )
    assert "click" in message.text and "rel" in message.text
    assert not [e for e in message.entities if e.type == "text_link"]
    [pre] = [e for e in message.entities if e.type == "pre"]
    assert pre.language is None


def test_offsets_count_utf16_units() -> None:
    [message] = render_markdown("😀😀 **bold**")
    [bold] = message.entities
    assert bold.offset == 5  # two emoji of two units each, then a space
    assert covered(message, bold) == "bold"


def test_long_answer_splits_under_the_limit_and_keeps_code_blocks() -> None:
    prose = " ".join(f"word{i}" for i in range(500))
    code = "".join(f"value_{i} = compute({i})\n" for i in range(300))
    text = f"{prose}\n\n```python\n{code}```\n\nThe end."
    messages = render_markdown(text)
    assert len(messages) >= 3
    assert_valid(messages)
    pres = [e for m in messages for e in m.entities if e.type == "pre"]
    assert len(pres) >= 2, "the code block continues as code in the next message"
    assert all(e.language == "python" for e in pres)
    assert alnum("".join(m.text for m in messages)) == alnum(
        f"{prose}{code}The end.".replace("```python", "")
    )


def test_a_table_wider_after_rendering_is_split_again() -> None:
    # Rendering pads every cell to its column's width: this grows past the limit.
    rows = "\n".join(f"|{'x' * (i % 50)}|y|" for i in range(120))
    text = "|AA|BB|\n|-|-|\n" + rows
    rendered = render_markdown(text, limit=TELEGRAM_MESSAGE_LIMIT)
    assert sum(m.length for m in rendered) > utf16_length(text) * 1.5
    messages = render_markdown(text, limit=1024)
    assert_valid(messages, 1024)
    assert all(m.text.startswith("AA") for m in messages), "every piece keeps the header"
    assert without_headers(messages) == alnum(text).replace("AABB", "")


def test_when_resplitting_is_exhausted_the_rendering_is_cut_with_entities_clipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(md, "_MAX_RESPLITS", 0)
    rows = "\n".join(f"| {'x' * (i % 40)} | **y{i}** |" for i in range(60))
    text = "| AA | BB |\n|---|---|\n" + rows + "\n\n**bold 😀 tail**"
    messages = render_markdown(text, limit=300)
    assert_valid(messages, 300)
    assert without_headers(messages) == alnum(text).replace("AABB", "")
    pres = [e for m in messages for e in m.entities if e.type == "pre"]
    assert len(pres) >= 3, "each piece of the table stays monospace"
    assert any(e.type == "bold" for e in messages[-1].entities)


def test_blank_input_gives_no_messages() -> None:
    assert render_markdown("") == []
    assert render_markdown(" \n\t") == []


def test_markdown_that_renders_to_nothing_is_shown_as_written() -> None:
    assert render_markdown("<!-- a note -->") == [RenderedMessage("<!-- a note -->")]


def test_renderer_failure_falls_back_to_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(md, "convert", broken)
    messages = render_markdown("**still** here\n\n" + "x " * 3000)
    assert messages[0].text.startswith("**still** here")
    assert all(m.entities == () for m in messages)
    assert_valid(messages)


def test_splitter_failure_falls_back_to_counted_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("splitter bug")

    monkeypatch.setattr(md, "split_markdown", broken)
    messages = render_markdown("😀" * 5000)
    assert_valid(messages)
    assert "".join(m.text for m in messages) == "😀" * 5000


def test_lone_surrogates_become_replacement_characters() -> None:
    [message] = render_markdown("bad \ud800 char")
    assert message.text == "bad \ufffd char"


def test_limit_must_be_sane() -> None:
    with pytest.raises(ValueError):
        render_markdown("x", limit=10)


# -- properties -----------------------------------------------------------------------

word = st.text(alphabet="abcdefgh0123éß", min_size=1, max_size=10)
words = st.lists(word, min_size=1, max_size=12).map(" ".join)
emoji_words = st.lists(st.one_of(word, st.sampled_from(["😀", "🎉", "→"])), min_size=1, max_size=8)


@st.composite
def block(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["para", "heading", "list", "quote", "code", "table", "inline"]))
    if kind == "para":
        return " ".join(draw(emoji_words))
    if kind == "heading":
        return "#" * draw(st.integers(1, 4)) + " " + draw(words)
    if kind == "list":
        return "\n".join(f"- {draw(words)}" for _ in range(draw(st.integers(1, 4))))
    if kind == "quote":
        return "> " + draw(words)
    if kind == "code":
        lines = draw(st.lists(words, min_size=1, max_size=6))
        return f"```{draw(st.sampled_from(['', 'py', 'bash']))}\n" + "\n".join(lines) + "\n```"
    if kind == "table":
        cells = draw(st.lists(st.lists(word, min_size=2, max_size=2), min_size=1, max_size=4))
        head = "| H1 | H2 |\n|---|---|\n"
        return head + "\n".join(f"| {a} | {b} |" for a, b in cells)
    a, b, c, d = (draw(word) for _ in range(4))
    return f"**{a}** *{b}* `{c}` [{d}](https://e.x/{a}) ~~{b}~~"


document = st.lists(block(), min_size=1, max_size=15).map("\n\n".join)


@settings(max_examples=150, deadline=None)
@given(text=document, limit=st.sampled_from([64, 200, 1000, TELEGRAM_MESSAGE_LIMIT]))
def test_any_document_renders_valid_messages_keeping_every_word(text: str, limit: int) -> None:
    messages = render_markdown(text, limit=limit)
    assert_valid(messages, limit)
    assert without_headers(messages) == alnum(shown_part(text)).replace("H1H2", "")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=3000), limit=st.sampled_from([64, 500, TELEGRAM_MESSAGE_LIMIT]))
def test_any_text_at_all_renders_without_raising(text: str, limit: int) -> None:
    messages = render_markdown(text, limit=limit)
    assert_valid(messages, limit)
    if text.strip():
        assert messages, "non-blank input must show something"
