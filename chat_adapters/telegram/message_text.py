"""Telegram message text: plain text plus entities, offsets in UTF-16 code units.

Sending ``text`` + ``entities`` (never ``parse_mode``) is what makes formatting unable
to fail: there is no markup for Telegram to reject. Pieces are built separately (a
bold title, rendered Markdown, plain status lines) and joined here, where the entity
offsets of each later piece are shifted by the UTF-16 length of what precedes it; a
hand-written shift is where off-by-surrogate bugs live.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import MessageEntity

from chat_adapters.telegram.markdown import RenderedMessage
from chat_adapters.text_split import utf16_length


@dataclass(frozen=True, slots=True)
class MessageText:
    """One message's text and its entities, ready for ``sendMessage``."""

    text: str
    entities: tuple[MessageEntity, ...] = ()

    @classmethod
    def plain(cls, text: str) -> MessageText:
        return cls(text)

    @classmethod
    def rendered(cls, message: RenderedMessage) -> MessageText:
        """From :func:`chat_adapters.telegram.markdown.render_markdown`'s output."""
        entities = tuple(
            MessageEntity(e.type, e.offset, e.length, url=e.url, language=e.language)
            for e in message.entities
        )
        return cls(message.text, entities)

    @classmethod
    def styled(cls, text: str, entity_type: str) -> MessageText:
        """``text`` wholly covered by one entity (``"bold"``, ``"italic"``, ``"code"``)."""
        if not text:
            return cls("")
        return cls(text, (MessageEntity(entity_type, 0, utf16_length(text)),))

    @property
    def length(self) -> int:
        """Length as Telegram counts it (UTF-16 code units)."""
        return utf16_length(self.text)

    def __bool__(self) -> bool:
        return bool(self.text.strip())

    def __add__(self, other: MessageText) -> MessageText:
        shift = self.length
        moved = tuple(_moved(e, e.offset + shift, e.length) for e in other.entities)
        return MessageText(self.text + other.text, self.entities + moved)

    def strip(self) -> MessageText:
        """Without outer whitespace (Telegram trims it, which would shift entities)."""
        stripped = self.text.strip()
        if stripped == self.text:
            return self
        start = utf16_length(self.text[: len(self.text) - len(self.text.lstrip())])
        return self._window(start, utf16_length(stripped), stripped)

    def truncated(self, limit: int, ellipsis: str = "…") -> MessageText:
        """At most ``limit`` UTF-16 units, cut at a character boundary with an ellipsis."""
        if self.length <= limit:
            return self
        room = max(0, limit - utf16_length(ellipsis))
        cut, used = 0, 0
        for char in self.text:
            size = 2 if ord(char) > 0xFFFF else 1
            if used + size > room:
                break
            cut, used = cut + 1, used + size
        head = self._window(0, used, self.text[:cut].rstrip())
        return head + MessageText(ellipsis) if limit >= utf16_length(ellipsis) else head

    def _window(self, start: int, length: int, text: str) -> MessageText:
        """The entities of ``self`` seen through [start, start+length), over ``text``."""
        size = utf16_length(text)
        kept: list[MessageEntity] = []
        for entity in self.entities:
            begin = max(entity.offset - start, 0)
            end = min(entity.offset + entity.length - start, size, length)
            if end > begin:
                kept.append(_moved(entity, begin, end - begin))
        return MessageText(text, tuple(kept))


def join(parts: Iterable[MessageText], separator: str = "\n\n") -> MessageText:
    """The non-blank ``parts`` with ``separator`` between them."""
    joined = MessageText("")
    for part in parts:
        if not part:
            continue
        joined = joined + MessageText(separator) + part if joined else part
    return joined


def status_text(lines: Sequence[str]) -> MessageText:
    """Status lines (tool activity, how a turn ended) as plain text: never Markdown."""
    return MessageText("\n".join(line for line in lines if line.strip()))


def _moved(entity: MessageEntity, offset: int, length: int) -> MessageEntity:
    return MessageEntity(
        type=entity.type,
        offset=offset,
        length=length,
        url=entity.url,
        user=entity.user,
        language=entity.language,
        custom_emoji_id=entity.custom_emoji_id,
    )
