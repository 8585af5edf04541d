"""Splitting Markdown at a length limit: fits, loses nothing, never breaks a code fence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_adapters.text_split import (
    Chunk,
    Measure,
    fence_closer,
    split_markdown,
    split_markdown_chunks,
    utf16_length,
)

MEASURES: dict[str, Measure] = {"chars": len, "utf16": utf16_length}

# -- strategies: Markdown made of the things that make splitting hard ----------------

words = st.text(alphabet="abcdefghij😀é", min_size=1, max_size=12)
sentence = st.lists(words, min_size=1, max_size=25).map(" ".join)
paragraph = st.lists(sentence, min_size=1, max_size=4).map("\n".join)
fence_marker = st.sampled_from(["```", "````", "~~~"])
info = st.sampled_from(["", "python", "bash title=x", " js"])
code_line = st.one_of(
    st.text(alphabet="xyz(){}=;  😀", max_size=30),
    st.just("``` not a closer inside a longer fence"),
    st.just(""),
)


@st.composite
def fenced_block(draw: st.DrawFn) -> str:
    marker = draw(fence_marker)
    indent = draw(st.sampled_from(["", "  ", "   "]))
    lines = draw(st.lists(code_line, min_size=1, max_size=15))
    if marker == "```":
        lines = [line for line in lines if not line.startswith("```")]
    body = "".join(f"{indent}{line}\n" for line in lines)
    return f"{indent}{marker}{draw(info)}\n{body}{indent}{marker}"


cell = st.text(alphabet="abc 😀", min_size=1, max_size=8)
table = st.lists(st.tuples(cell, cell), min_size=1, max_size=12).map(
    lambda rows: "| h1 | h2 |\n|---|:-:|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
)
blocks = st.one_of(paragraph, fenced_block(), table)
markdown = st.lists(blocks, min_size=1, max_size=8).map("\n\n".join)
limits = st.integers(min_value=40, max_value=300)
measure_names = st.sampled_from(sorted(MEASURES))


def assert_lossless(text: str, chunks: list[Chunk]) -> None:
    assert "".join(text[c.start : c.end] for c in chunks) == text
    position = 0
    for chunk in chunks:
        assert chunk.start == position, "chunks must be contiguous and in order"
        assert chunk.end > chunk.start, "no empty chunk"
        assert chunk.text == chunk.prefix + text[chunk.start : chunk.end] + chunk.suffix
        position = chunk.end


# -- properties -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text=markdown, limit=limits, name=measure_names)
def test_chunks_fit_lose_nothing_and_keep_fences_balanced(text: str, limit: int, name: str) -> None:
    measure = MEASURES[name]
    chunks = split_markdown_chunks(text, limit, measure)
    assert_lossless(text, chunks)
    for chunk in chunks:
        assert measure(chunk.text) <= limit
        assert fence_closer(chunk.text) == "", f"unbalanced fence in {chunk.text!r}"
        cut_table = chunk.start > 0 and text[chunk.start - 1 : chunk.start + 2] == "\n| "
        if cut_table and not text[chunk.start :].startswith("| h1"):
            # A table cut in two: the rest starts with the header again (unless the
            # header alone would take more than a quarter of the room).
            header = "| h1 | h2 |\n|---|:-:|\n"
            assert chunk.prefix == header or measure(header) > limit // 4, chunk


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=600), limit=limits, name=measure_names)
def test_arbitrary_text_fits_and_loses_nothing(text: str, limit: int, name: str) -> None:
    measure = MEASURES[name]
    chunks = split_markdown_chunks(text, limit, measure)
    assert_lossless(text, chunks)
    assert all(measure(chunk.text) <= limit for chunk in chunks)
    # Only the last chunk may end inside a fence, and only if the source does.
    for chunk in chunks[:-1]:
        assert fence_closer(chunk.text) == ""


@settings(max_examples=200, deadline=None)
@given(text=markdown, limit=limits, name=measure_names)
def test_short_text_is_left_alone_and_resplitting_is_idempotent(
    text: str, limit: int, name: str
) -> None:
    measure = MEASURES[name]
    for chunk in split_markdown(text, limit, measure):
        assert split_markdown(chunk, limit, measure) == [chunk]


# -- examples: where the cut goes ----------------------------------------------------


def test_text_that_fits_is_one_unchanged_chunk() -> None:
    assert split_markdown("hello\n\nworld", 100) == ["hello\n\nworld"]
    assert split_markdown("", 100) == []


def test_prefers_paragraph_then_line_then_word() -> None:
    para = "alpha beta gamma.\n\n" + "x" * 30
    assert split_markdown(para, 30)[0] == "alpha beta gamma.\n\n"
    lines = "alpha beta gamma\ndelta epsilon " + "y" * 20
    assert split_markdown(lines, 32)[0] == "alpha beta gamma\n"
    word = "alpha beta gamma delta epsilon zeta"
    assert split_markdown(word, 20)[0] == "alpha beta gamma "


def test_hard_cut_only_for_a_word_longer_than_the_limit() -> None:
    chunks = split_markdown("z" * 95, 40)
    assert chunks == ["z" * 40, "z" * 40, "z" * 15]


def test_cut_inside_code_closes_and_reopens_with_the_same_info_string() -> None:
    code = "".join(f"print({i})\n" for i in range(40))
    text = f"Here:\n\n```python title=a.py\n{code}```\n\nDone."
    chunks = split_markdown_chunks(text, 120)
    assert len(chunks) > 2
    assert chunks[0].suffix == "```"
    for chunk in chunks[1:-1]:
        assert chunk.text.startswith("```python title=a.py\n")
        assert chunk.text.endswith("\n```") or chunk.suffix == ""
    assert_lossless(text, chunks)
    for chunk in chunks:
        assert len(chunk.text) <= 120
        assert fence_closer(chunk.text) == ""


def test_a_long_code_line_is_cut_mid_line_and_stays_code() -> None:
    text = "```\n" + "a" * 200 + "\n```"
    chunks = split_markdown_chunks(text, 60)
    assert_lossless(text, chunks)
    for chunk in chunks:
        assert chunk.text.startswith("```")
        assert fence_closer(chunk.text) == ""
        assert len(chunk.text) <= 60


def test_indented_fence_in_a_list_item_reopens_indented() -> None:
    code = "".join(f"   echo {i}\n" for i in range(30))
    text = f"1. Run:\n   ```bash\n{code}   ```\n"
    chunks = split_markdown_chunks(text, 100)
    assert chunks[1].prefix == "   ```bash\n"
    assert chunks[0].suffix == "   ```"


def test_tilde_fence_and_longer_backtick_fences_are_respected() -> None:
    inner = "```\nnot the end\n```\n"
    text = "````md\n" + inner * 10 + "````"
    chunks = split_markdown_chunks(text, 60)
    assert_lossless(text, chunks)
    for chunk in chunks:
        assert fence_closer(chunk.text) == ""
        if chunk.prefix:
            assert chunk.prefix == "````md\n"


def test_a_table_cut_in_two_repeats_its_header() -> None:
    rows = "".join(f"| row {i} | value {i} |\n" for i in range(30))
    text = f"Sizes:\n\n| name | value |\n| --- | ---: |\n{rows}\nAfter the table."
    chunks = split_markdown_chunks(text, 150)
    assert_lossless(text, chunks)
    continued = [c for c in chunks[1:] if text[c.start : c.start + 5] == "| row"]
    assert continued, "the table spans several chunks"
    for chunk in continued:
        assert chunk.prefix == "| name | value |\n| --- | ---: |\n"
    for chunk in chunks:
        assert not chunk.text.endswith("| ---: |\n"), "no header without rows"


def test_pipes_outside_a_table_are_just_text() -> None:
    text = ("a | b\n" * 40) + "| not | a table |\n" * 10
    chunks = split_markdown_chunks(text, 100)
    assert all(c.prefix == "" for c in chunks)


def test_utf16_counts_astral_characters_twice() -> None:
    assert utf16_length("a😀") == 3
    chunks = split_markdown("😀" * 10, 6, utf16_length)
    assert chunks == ["😀😀😀"] * 3 + ["😀"]


def test_fence_closer_closes_only_an_open_fence() -> None:
    assert fence_closer("text") == ""
    assert fence_closer("```py\nx = 1\n```") == ""
    assert fence_closer("```py\nx = 1") == "\n```"
    assert fence_closer("  ~~~~\nx\n") == "  ~~~~"


def test_limit_must_hold_a_character() -> None:
    with pytest.raises(ValueError):
        split_markdown("abc", 0)
    with pytest.raises(ValueError, match="cannot hold"):
        split_markdown("😀😀", 1, utf16_length)


def test_a_giant_info_string_is_dropped_when_reopening() -> None:
    text = "```" + "i" * 50 + "\n" + "code\n" * 40 + "```"
    chunks = split_markdown_chunks(text, 80)
    assert_lossless(text, chunks)
    assert all(len(c.text) <= 80 for c in chunks)
    assert chunks[1].prefix == "```\n"


def test_long_text_splits_in_linear_number_of_chunks() -> None:
    text = ("word " * 200 + "\n\n") * 50
    chunks = split_markdown_chunks(text, 4096, utf16_length)
    assert_lossless(text, chunks)
    assert len(chunks) <= len(text) // 2000
