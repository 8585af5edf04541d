"""Claude's Markdown as Telegram messages: plain text plus entities, never ``parse_mode``.

With ``parse_mode`` one stray ``*`` or ``_`` makes Telegram refuse the whole message
("can't parse entities"). Sending text with an explicit entity list cannot fail that
way, so this module turns Markdown into exactly that, with telegramify-markdown:
code blocks become ``pre`` with their language, tables become monospace ``pre``.

Long answers are split *before* rendering (at paragraphs and lines, code fences closed
and reopened, see :mod:`chat_adapters.text_split`) and each piece is rendered on its
own; a rendering that still comes out too long is split again. Entities are checked
against what Telegram accepts (known types, http/tg links, proper nesting, in bounds,
offsets in UTF-16 code units), and any failure of the renderer falls back to the
Markdown as plain text. Formatting can never lose or block a reply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import structlog
from telegramify_markdown import RenderConfig, convert
from telegramify_markdown.entity import MessageEntity as RawEntity

from chat_adapters.text_split import split_markdown, utf16_length

log = structlog.get_logger(__name__)

TELEGRAM_MESSAGE_LIMIT = 4096
"""Longest message text, in UTF-16 code units."""

_CONFIG = RenderConfig.isolated()  # never the library's global, shared mutable config
_TYPES = frozenset(
    {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "pre",
        "text_link",
        "blockquote",
        "expandable_blockquote",
    }
)
_CODE = frozenset({"code", "pre"})
_QUOTES = frozenset({"blockquote", "expandable_blockquote"})
_LINK = re.compile(r"(?i)(https?|tg)://\S+")
_LANGUAGE = re.compile(r"[A-Za-z0-9_+#.\-]{1,32}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MAX_RESPLITS = 3


@dataclass(frozen=True, slots=True)
class TextEntity:
    """A Telegram ``MessageEntity``; offset and length in UTF-16 code units."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None

    @property
    def end(self) -> int:
        return self.offset + self.length

    def to_dict(self) -> dict[str, str | int]:
        """As the Bot API takes it (``MessageEntity.de_json`` or a raw request)."""
        out: dict[str, str | int] = {"type": self.type, "offset": self.offset}
        out["length"] = self.length
        if self.url is not None:
            out["url"] = self.url
        if self.language is not None:
            out["language"] = self.language
        return out


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One message: ``text`` (non-blank, no outer whitespace) and its entities."""

    text: str
    entities: tuple[TextEntity, ...] = ()

    @property
    def length(self) -> int:
        return utf16_length(self.text)


def render_markdown(markdown: str, *, limit: int = TELEGRAM_MESSAGE_LIMIT) -> list[RenderedMessage]:
    """Messages of at most ``limit`` UTF-16 units showing all of ``markdown``.

    Blank input gives no messages. Never raises for any text.
    """
    if limit < 64:
        raise ValueError(f"limit must be at least 64, got {limit}")
    if _SURROGATE.search(markdown):
        # A lone surrogate cannot be sent to Telegram at all; show U+FFFD instead.
        markdown = markdown.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    try:
        return [
            message
            for chunk in split_markdown(markdown, limit, utf16_length)
            for message in _render_fitting(chunk, limit, 0)
        ]
    except Exception as exc:
        log.warning("markdown_render_failed", error=repr(exc))
        return [RenderedMessage(piece) for piece in _plain_pieces(markdown, limit)]


def _render_fitting(markdown: str, limit: int, depth: int) -> list[RenderedMessage]:
    message = _render(markdown)
    if message is None:
        return []
    if message.length <= limit:
        return [message]
    # Rendering grew (tables are padded): split the Markdown finer and try again.
    if depth < _MAX_RESPLITS:
        source = utf16_length(markdown)
        smaller = max(64, min(source - 1, source * limit * 9 // (message.length * 10)))
        pieces = split_markdown(markdown, smaller, utf16_length)
        if len(pieces) > 1:
            return [m for piece in pieces for m in _render_fitting(piece, limit, depth + 1)]
    return _split_rendered(message, limit)


def _render(markdown: str) -> RenderedMessage | None:
    if not markdown.strip():
        return None
    try:
        text, entities = convert(markdown, latex_escape=False, config=_CONFIG)
        message = _clean(text, entities)
    except Exception as exc:
        log.warning("markdown_render_fallback", error=repr(exc))
        message = None
    if message is None or not message.text:
        # Rendering lost everything (an HTML comment, say): show the source instead.
        return RenderedMessage(markdown.strip())
    return message


def _clean(text: str, raw: Sequence[RawEntity]) -> RenderedMessage:
    """Only entities Telegram will take: known types, sane links, well nested, in bounds,
    and none inside code. Outer whitespace goes (Telegram trims it, shifting offsets)."""
    size = utf16_length(text)
    entities: list[TextEntity] = []
    for entity in raw:
        if entity.type not in _TYPES:
            continue
        start = max(0, int(entity.offset))
        end = min(size, int(entity.offset) + int(entity.length))
        url = entity.url if entity.type == "text_link" else None
        if end <= start or (entity.type == "text_link" and not _LINK.fullmatch(url or "")):
            continue
        language = entity.language if entity.type == "pre" else None
        if language is not None and not _LANGUAGE.fullmatch(language):
            language = None
        entities.append(TextEntity(entity.type, start, end - start, url, language))
    stripped = text.strip()
    lead = utf16_length(text[: len(text) - len(text.lstrip())])
    return RenderedMessage(stripped, _well_formed(entities, -lead, utf16_length(stripped)))


def _well_formed(entities: Iterable[TextEntity], shift: int, size: int) -> tuple[TextEntity, ...]:
    """Shift and clip to [0, size); keep an entity only if it nests properly in those
    kept before it (no partial overlap, nothing inside code, no quote in a quote)."""
    moved: list[TextEntity] = []
    for e in entities:
        start, end = max(0, e.offset + shift), min(size, e.end + shift)
        if end > start:
            moved.append(TextEntity(e.type, start, end - start, e.url, e.language))
    moved.sort(key=lambda e: (e.offset, -e.length))
    kept: list[TextEntity] = []
    open_: list[TextEntity] = []  # kept entities containing the current position
    for e in moved:
        while open_ and open_[-1].end <= e.offset:
            open_.pop()
        if any(
            e.end > outer.end
            or outer.type in _CODE
            or (e.type in _QUOTES and outer.type in _QUOTES)
            or (e.type, e.offset, e.length) == (outer.type, outer.offset, outer.length)
            for outer in open_
        ):
            continue
        kept.append(e)
        open_.append(e)
    return tuple(kept)


def _split_rendered(message: RenderedMessage, limit: int) -> list[RenderedMessage]:
    """Last resort for a rendering that cannot be made to fit by splitting Markdown:
    cut the text (at a newline where possible) and clip entities to each piece."""
    text = message.text
    units = [0]
    for char in text:
        units.append(units[-1] + (2 if ord(char) > 0xFFFF else 1))
    out: list[RenderedMessage] = []
    start = 0
    while start < len(text):
        end = start
        while end < len(text) and units[end + 1] - units[start] <= limit:
            end += 1
        if end < len(text):
            newline = text.rfind("\n", start, end)
            if newline > start:
                end = newline + 1
        end = max(end, start + 1)
        piece = text[start:end]
        clipped = _well_formed(message.entities, -units[start], units[end] - units[start])
        lead = utf16_length(piece[: len(piece) - len(piece.lstrip())])
        stripped = piece.strip()
        if stripped:
            entities = _well_formed(clipped, -lead, utf16_length(stripped))
            out.append(RenderedMessage(stripped, entities))
        start = end
    return out


def _plain_pieces(text: str, limit: int) -> list[str]:
    """The text in pieces of at most ``limit`` UTF-16 units, by nothing cleverer than
    counting: the fallback of the fallback."""
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > limit:
            pieces.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    pieces.append("".join(current))
    return [piece.strip() for piece in pieces if piece.strip()]
