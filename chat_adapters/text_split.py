"""Split Markdown into messages that fit a chat's length limit without breaking code.

Chat apps cap a message (Telegram 4096 UTF-16 code units, Discord 2000 characters), and
Claude's answers are often longer. A naive cut lands inside a fenced code block, and
the rest of the answer then renders as code (or the code as prose). So a cut inside a
fence closes the fence at the end of the chunk and reopens it, with the same info
string, at the start of the next; the added lines count against the limit. A cut
through a table repeats the table's header in the next chunk, for the same reason.

Cuts prefer a paragraph boundary, then a line, then a word, and hard-cut only when a
single word is longer than the room left. Every chunk records which slice of the source
it carries, so "nothing lost, nothing reordered" is checkable: the slices concatenate to
the source exactly.

The length function is the caller's (``len`` for Discord, :func:`utf16_length` for
Telegram). It must be additive over characters and count every character as at least 1.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

Measure = Callable[[str], int]


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units: how Telegram counts message length and entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass(frozen=True, slots=True)
class Chunk:
    """One message's worth of Markdown.

    ``text == prefix + source[start:end] + suffix``: ``prefix`` reopens a code fence the
    previous chunk had to close (or repeats the header of a table it continues),
    ``suffix`` closes a fence this chunk cuts through.
    """

    text: str
    start: int
    end: int
    prefix: str = ""
    suffix: str = ""


def split_markdown(text: str, limit: int, measure: Measure = len) -> list[str]:
    """The message texts of :func:`split_markdown_chunks`."""
    return [chunk.text for chunk in split_markdown_chunks(text, limit, measure)]


def split_markdown_chunks(text: str, limit: int, measure: Measure = len) -> list[Chunk]:
    """Cut ``text`` into chunks whose ``measure`` is at most ``limit``.

    Text that already fits comes back as one chunk, unchanged. Empty text gives no
    chunks. A chunk may be whitespace only when the source holds a whitespace run
    longer than the limit; senders skip those.

    Raises ValueError when ``limit`` cannot hold a single character.
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    if not text:
        return []
    if measure(text) <= limit:
        return [Chunk(text, 0, len(text))]
    return _Splitter(text, limit, measure).run()


def fence_closer(text: str) -> str:
    """What to append to ``text`` to close a code fence still open at its end ("" if none).

    Lets a live preview of half-streamed Markdown render its code block on apps that
    show an unclosed fence as literal backticks.
    """
    lines = _scan(text)
    if not lines or lines[-1].kind in (_Kind.TEXT, _Kind.CLOSE) or lines[-1].fence is None:
        return ""
    closing = lines[-1].fence.closing
    return closing if text.endswith("\n") else "\n" + closing


# -- scanning ------------------------------------------------------------------------

_OPENING = re.compile(r"(?P<indent>[ \t]*)(?P<marker>`{3,}|~{3,})(?P<info>.*)")


class _Kind(Enum):
    TEXT = "text"
    OPEN = "open"  # an opening fence line
    CODE = "code"  # a line inside a fenced block
    CLOSE = "close"  # the closing fence line


@dataclass(frozen=True, slots=True)
class _Fence:
    indent: str
    marker: str
    info: str

    @property
    def opening(self) -> str:
        return f"{self.indent}{self.marker}{self.info}\n"

    @property
    def bare_opening(self) -> str:
        return f"{self.indent}{self.marker}\n"

    @property
    def closing(self) -> str:
        return f"{self.indent}{self.marker}"

    def is_closed_by(self, content: str) -> bool:
        stripped = content.strip(" \t")
        return (
            len(stripped) >= len(self.marker)
            and stripped[0] == self.marker[0]
            and stripped == stripped[0] * len(stripped)
        )


@dataclass(frozen=True, slots=True)
class _Line:
    start: int
    end: int  # past the line's "\n", or the end of the text
    kind: _Kind
    fence: _Fence | None
    blank: bool
    table_head: str = ""  # for a table's body rows: its header and delimiter lines


def _scan(text: str) -> list[_Line]:
    """Classify every line. Fences may be indented (Claude nests code in list items)."""
    lines: list[_Line] = []
    fence: _Fence | None = None
    start = 0
    size = len(text)
    while start < size:
        newline = text.find("\n", start)
        end = size if newline < 0 else newline + 1
        content = text[start:end].rstrip("\n").rstrip("\r")
        blank = not content.strip()
        if fence is None:
            match = _OPENING.fullmatch(content)
            if match and not (match["marker"][0] == "`" and "`" in match["info"]):
                fence = _Fence(match["indent"], match["marker"], match["info"])
                lines.append(_Line(start, end, _Kind.OPEN, fence, blank))
            else:
                lines.append(_Line(start, end, _Kind.TEXT, None, blank))
        elif fence.is_closed_by(content):
            lines.append(_Line(start, end, _Kind.CLOSE, fence, blank))
            fence = None
        else:
            lines.append(_Line(start, end, _Kind.CODE, fence, blank))
        start = end
    return _mark_tables(text, lines)


_TABLE_DELIMITER = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*")


def _mark_tables(text: str, lines: list[_Line]) -> list[_Line]:
    """Give each body row of a (GFM) table its header, to repeat when a cut splits it."""

    def content(line: _Line) -> str:
        return text[line.start : line.end].rstrip("\n").rstrip("\r")

    def is_row(line: _Line) -> bool:
        return line.kind == _Kind.TEXT and not line.blank and "|" in content(line)

    i = 0
    while i + 2 < len(lines):
        head, delimiter = lines[i], lines[i + 1]
        if (
            is_row(head)
            and is_row(delimiter)
            and _TABLE_DELIMITER.fullmatch(content(delimiter))
            and text[delimiter.end - 1] == "\n"
        ):
            header = text[head.start : delimiter.end]
            j = i + 2
            while j < len(lines) and is_row(lines[j]):
                lines[j] = replace(lines[j], table_head=header)
                j += 1
            i = j
        else:
            i += 1
    return lines


_FENCE_START = re.compile(r"[ \t]*(?:```|~~~)")


# -- splitting -----------------------------------------------------------------------


class _Splitter:
    def __init__(self, text: str, limit: int, measure: Measure) -> None:
        self.text = text
        self.limit = limit
        self.measure = measure
        self.lines = _scan(text)
        self.starts = [line.start for line in self.lines]
        fences = {line.fence for line in self.lines if line.fence is not None}
        # Room kept free for a closing line, so any cut in the window can take one.
        self.reserve = max((measure("\n" + f.closing) for f in fences), default=0)

    def run(self) -> list[Chunk]:
        text, chunks, pos = self.text, [], 0
        while pos < len(text):
            prefix = self._reopening(pos)
            # Every character counts at least 1, so a long rest cannot fit: skip measuring.
            if len(text) - pos <= self.limit and self.measure(prefix + text[pos:]) <= self.limit:
                chunks.append(Chunk(prefix + text[pos:], pos, len(text), prefix))
                break
            fenced = True
            hard = self._window(pos, prefix, self.limit - self.reserve)
            if hard == pos:
                # Too little room to close and reopen a fence: plain split for this chunk.
                fenced, prefix = False, ""
                hard = self._window(pos, "", self.limit)
                if hard == pos:
                    raise ValueError(f"limit {self.limit} cannot hold {text[pos]!r}")
            cut = self._choose_cut(pos, hard)
            suffix = self._closing(cut) if fenced else ""
            chunks.append(Chunk(prefix + text[pos:cut] + suffix, pos, cut, prefix, suffix))
            pos = cut
        return chunks

    def _line_at(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) - 1

    def _reopening(self, pos: int) -> str:
        """The fence line that must open a chunk starting at ``pos`` ("" outside code)."""
        if pos == 0:
            return ""
        line = self.lines[self._line_at(pos)]
        if line.table_head and pos == line.start:
            # A table continued without its header would render as loose text.
            return line.table_head if self.measure(line.table_head) <= self.limit // 4 else ""
        inside = line.kind == _Kind.CODE or (line.kind == _Kind.CLOSE and pos == line.start)
        if not inside or line.fence is None:
            return ""
        # A reopening line may take at most a quarter of the room; a giant info string
        # is dropped, and a giant fence marker means no reopening at all.
        for opening in (line.fence.opening, line.fence.bare_opening):
            if self.measure(opening) <= self.limit // 4:
                return opening
        return ""

    def _closing(self, cut: int) -> str:
        """The fence line that must close a chunk ending at ``cut`` ("" outside code)."""
        line = self.lines[self._line_at(cut)]
        if line.fence is None:
            return ""
        if cut == line.start and line.kind in (_Kind.CODE, _Kind.CLOSE):
            return line.fence.closing
        if cut > line.start and line.kind == _Kind.CODE:
            return "\n" + line.fence.closing
        return ""

    def _window(self, pos: int, prefix: str, budget: int) -> int:
        """The furthest end such that ``prefix + text[pos:end]`` fits ``budget``."""
        lo, hi = pos, min(len(self.text), pos + budget)
        if self.measure(prefix) > budget:
            return pos
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.measure(prefix + self.text[pos:mid]) <= budget:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _choose_cut(self, pos: int, hard: int) -> int:
        # Prefer a boundary in the back half of the window, so chunks stay large;
        # failing that, any boundary at all beats cutting a word.
        half = pos + max(1, (hard - pos) // 2)
        for lowest in (half, pos + 1):
            for boundary in (self._paragraph_cut, self._line_cut, self._word_cut):
                cut = boundary(lowest, hard)
                if cut is not None:
                    return cut
        return self._hard_cut(pos, hard)

    def _line_starts_between(self, lowest: int, highest: int) -> range:
        """Indexes of lines starting in [lowest, highest], newest first."""
        first = bisect.bisect_left(self.starts, max(lowest, 1))
        last = bisect.bisect_right(self.starts, highest) - 1
        return range(last, first - 1, -1)

    def _between_lines_ok(self, i: int) -> bool:
        # Never leave an empty code block behind (not right after an opening fence, not
        # right before a closing one), nor a table header without rows.
        before, line = self.lines[i - 1], self.lines[i]
        return (
            before.kind != _Kind.OPEN
            and line.kind != _Kind.CLOSE
            and not (line.table_head and not before.table_head)
        )

    def _paragraph_cut(self, lowest: int, highest: int) -> int | None:
        for i in self._line_starts_between(lowest, highest):
            line, before = self.lines[i], self.lines[i - 1]
            if self._between_lines_ok(i) and (
                before.blank or line.kind == _Kind.OPEN or before.kind == _Kind.CLOSE
            ):
                return line.start
        return None

    def _line_cut(self, lowest: int, highest: int) -> int | None:
        for i in self._line_starts_between(lowest, highest):
            if self._between_lines_ok(i):
                return self.lines[i].start
        return None

    def _word_cut(self, lowest: int, highest: int) -> int | None:
        cut = highest
        while cut >= lowest:
            space = max(
                self.text.rfind(" ", lowest - 1, cut), self.text.rfind("\t", lowest - 1, cut)
            )
            if space < 0:
                return None
            cut = space + 1
            if self._mid_line_ok(cut):
                return cut
            cut = space
        return None

    def _mid_line_ok(self, cut: int) -> bool:
        line = self.lines[self._line_at(cut)]
        if cut == line.start:
            return True
        if line.kind not in (_Kind.TEXT, _Kind.CODE) or cut >= line.end:
            return False
        if self.text[cut - 1] == "\r" and self.text[cut : cut + 1] == "\n":
            return False
        # Neither half may turn into a fence line once it stands at a line start.
        return not (
            _FENCE_START.match(self.text, line.start, cut)
            or _FENCE_START.match(self.text, cut, line.end)
        )

    def _hard_cut(self, pos: int, hard: int) -> int:
        for cut in range(hard, pos, -1):
            if self._mid_line_ok(cut):
                return cut
        return hard
