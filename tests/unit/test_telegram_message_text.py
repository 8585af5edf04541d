"""MessageText: joining pieces shifts entity offsets by UTF-16 length, and cutting keeps
entities inside the text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from telegram import MessageEntity

from chat_adapters.telegram.message_text import MessageText, join, status_text
from chat_adapters.text_split import utf16_length


def covered(message: MessageText, kind: str) -> list[str]:
    raw = message.text.encode("utf-16-le")
    return [
        raw[2 * e.offset : 2 * (e.offset + e.length)].decode("utf-16-le")
        for e in message.entities
        if e.type == kind
    ]


def test_joining_shifts_entities_past_astral_characters() -> None:
    title = MessageText.styled("😀 Title", "bold")  # the emoji is two UTF-16 units
    body = MessageText("run `x`", (MessageEntity("code", 4, 3),))
    joined = join([title, body, status_text(["▸ Bash"])])
    assert joined.text == "😀 Title\n\nrun `x`\n\n▸ Bash"
    assert covered(joined, "bold") == ["😀 Title"]
    assert covered(joined, "code") == ["`x`"]


def test_join_skips_blank_parts() -> None:
    assert join([MessageText(""), MessageText("  "), MessageText("a")]).text == "a"
    assert join([]).text == ""
    assert not join([MessageText(" \n")])


def test_strip_moves_entities_with_the_text() -> None:
    message = MessageText("\n\n  bold here  \n", (MessageEntity("bold", 4, 4),))
    stripped = message.strip()
    assert stripped.text == "bold here"
    assert covered(stripped, "bold") == ["bold"]


def test_truncated_fits_and_clips_entities() -> None:
    message = MessageText("😀" * 10 + " tail", (MessageEntity("italic", 0, 20),))
    cut = message.truncated(9)
    assert cut.length <= 9
    assert cut.text.endswith("…")
    assert all(e.offset + e.length <= cut.length for e in cut.entities)
    assert covered(cut, "italic") == ["😀" * 4]
    assert message.truncated(100) is message


@given(
    text=st.text(min_size=1, max_size=80),
    start=st.integers(0, 40),
    length=st.integers(1, 40),
    limit=st.integers(1, 60),
)
def test_truncation_never_overflows(text: str, start: int, length: int, limit: int) -> None:
    size = utf16_length(text)
    start = min(start, size - 1) if size > 1 else 0
    length = max(1, min(length, size - start))
    message = MessageText(text, (MessageEntity("bold", start, length),))
    cut = message.truncated(limit)
    assert cut.length <= limit
    for entity in cut.entities:
        assert entity.length >= 1 and entity.offset + entity.length <= cut.length
