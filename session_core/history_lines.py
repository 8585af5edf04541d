"""One line of history.jsonl: the values it holds and the tolerant parser.

The interactive CLI appends one compact JSON line per submitted prompt. Real files hold
blank, cut-off, non-UTF-8 and hand-edited lines, so nothing here raises on file content:
a line that does not fit is skipped (and counted by whoever reads). The index, the byte
scans and the writer all read lines through this module, so they agree on what a line is.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeAlias

MAX_LINE_BYTES = 1 << 20
"""Longer lines are skipped (and counted) without ever being held in memory whole."""

READ_CHUNK = 4 << 20

raw_decode = json.JSONDecoder().raw_decode
_SLASH_COMMAND = re.compile(r"/[A-Za-z][\w:.-]*(?:\s|$)")
_LINE_SEPARATORS = re.compile("[\u2028\u2029]")

TallyRow: TypeAlias = tuple[str, str, str, str | None, str, str | None, int, int, int, int]
"""A ``SessionTally`` as builtin values (see ``SessionTally.row``)."""

LineFields: TypeAlias = tuple[str, int, str, str | None]
"""display, timestamp_ms, project, session_id: one entry as the parser hands it out."""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One prompt line. ``session_id`` is None on lines from CLI versions that had none."""

    display: str
    timestamp_ms: int
    project: str
    session_id: str | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """Everything history.jsonl says about one session.

    ``project`` is where the session was last used; first/last prompt prefer real prompts
    over slash commands such as ``/exit`` (kept only when there is nothing else), and
    ``prompt_count`` counts every line, commands included.
    """

    session_id: str
    project: str
    first_prompt: str
    last_prompt: str
    first_timestamp_ms: int
    last_timestamp_ms: int
    prompt_count: int


class SessionTally:
    """Mutable per-session aggregate of prompt lines; ``SessionRecord`` snapshots are
    made on demand. The index, the byte scans and the on-disk cache all build these."""

    __slots__ = (
        "count",
        "first_any",
        "first_real",
        "first_ts",
        "last_any",
        "last_real",
        "last_ts",
        "project",
        "seq",
        "session_id",
        "snapshot",
    )

    def __init__(
        self, session_id: str, display: str, real: str | None, ts: int, project: str, seq: int
    ) -> None:
        self.session_id = session_id
        self.project = project
        self.first_any = display
        self.first_real = real
        self.last_any = display
        self.last_real = real
        self.first_ts = ts
        self.last_ts = ts
        self.count = 1
        self.seq = seq
        self.snapshot: SessionRecord | None = None

    def add(self, display: str, real: str | None, ts: int, project: str, seq: int) -> None:
        self.project = project
        self.last_any = display
        if real is not None:
            self.last_real = real
            if self.first_real is None:
                self.first_real = real
        self.last_ts = ts
        self.count += 1
        self.seq = seq
        self.snapshot = None

    def absorb(self, later: SessionTally) -> None:
        """Fold in the same session's tally of the lines that follow this one's, as if
        they had been ``add``-ed here one by one (a split build joins its pieces so)."""
        self.project = later.project
        self.last_any = later.last_any
        if later.last_real is not None:
            self.last_real = later.last_real
        if self.first_real is None:
            self.first_real = later.first_real
        self.last_ts = later.last_ts
        self.count += later.count
        self.seq = later.seq
        self.snapshot = None

    def row(self) -> TallyRow:
        """Builtin types only: what ``marshal`` carries to the cache file or another process."""
        return (
            self.session_id,
            self.project,
            self.first_any,
            self.first_real,
            self.last_any,
            self.last_real,
            self.first_ts,
            self.last_ts,
            self.count,
            self.seq,
        )

    @classmethod
    def from_row(cls, row: TallyRow, seq_offset: int = 0) -> SessionTally:
        sid, project, first_any, first_real, last_any, last_real, first_ts, last_ts, n, seq = row
        session = cls(sid, first_any, first_real, first_ts, project, seq + seq_offset)
        session.last_any, session.last_real = last_any, last_real
        session.last_ts, session.count = last_ts, n
        return session

    def record(self) -> SessionRecord:
        if self.snapshot is None:
            self.snapshot = SessionRecord(
                session_id=self.session_id,
                project=self.project,
                first_prompt=self.first_real if self.first_real is not None else self.first_any,
                last_prompt=self.last_real if self.last_real is not None else self.last_any,
                first_timestamp_ms=self.first_ts,
                last_timestamp_ms=self.last_ts,
                prompt_count=self.count,
            )
        return self.snapshot


# --------------------------------------------------------------------------- parsing


def _fields(obj: object) -> LineFields | None:
    """Validate one decoded line against the CLI's schema; None when it does not fit."""
    if type(obj) is not dict:
        return None
    display = obj.get("display")
    project = obj.get("project")
    timestamp = obj.get("timestamp")
    if type(display) is not str or type(project) is not str or not project:
        return None
    if type(timestamp) is not int:
        if type(timestamp) is not float or timestamp != timestamp or abs(timestamp) > 1e18:
            return None
        timestamp = int(timestamp)
    session_id = obj.get("sessionId")
    if session_id is not None and type(session_id) is not str:
        return None
    if project[-1] == "/" and len(project) > 1:
        project = project.rstrip("/") or "/"
    return display, timestamp, project, session_id or None


def _parse_line(line: bytes) -> LineFields | None:
    """The fast path: one well-formed line. Anything unusual returns None."""
    try:
        text = line.decode("utf-8")
        obj, end = raw_decode(text)
    except (ValueError, RecursionError):
        return None
    if end != len(text) and not text[end:].isspace():
        return None
    return _fields(obj)


def _salvage(line: bytes) -> list[LineFields]:
    """Entries in a line the fast path refused, read the way the CLI reads them.

    The CLI also splits a line at ``\\r`` (and at U+2028/U+2029 when the piece is not
    JSON), and accepts leading whitespace; doing the same keeps both readers agreeing.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return []
    found: list[LineFields] = []
    for piece in text.split("\r"):
        candidates = [piece]
        if _LINE_SEPARATORS.search(piece):
            try:
                json.loads(piece)
            except (ValueError, RecursionError):
                candidates = _LINE_SEPARATORS.split(piece)
        for candidate in candidates:
            if not candidate.strip():
                continue
            try:
                fields = _fields(json.loads(candidate))
            except (ValueError, RecursionError):
                continue
            if fields is not None:
                found.append(fields)
    return found


def entries_in_line(line: bytes) -> list[LineFields]:
    if len(line) > MAX_LINE_BYTES:
        return []
    fields = _parse_line(line)
    if fields is not None:
        return [fields]
    return _salvage(line) if line.strip() else []


def is_slash_command(display: str) -> bool:
    """``/exit``, ``/clear``, ``/model opus``: bookkeeping, not what a session is about."""
    return display[:1] == "/" and _SLASH_COMMAND.match(display) is not None


def is_real_prompt(display: str) -> bool:
    return bool(display.strip()) and not is_slash_command(display)


def line_blocks(
    stream: BinaryIO, start: int, *, final: bool, stop: int | None = None
) -> Iterator[tuple[bytes | None, int]]:
    """Runs of complete lines from ``start`` (up to ``stop``, a line start, if given),
    with the file offset just past each run.

    A run is lines joined by ``\n`` without the last one. ``None`` stands for one line
    longer than ``MAX_LINE_BYTES``, skipped without being held in memory. A last line
    without its newline is what a writer leaves mid-``write``: it is yielded only when
    ``final`` (a one-off read), never consumed by an incremental reader.
    """
    stream.seek(start)
    consumed = start
    carry = b""
    skipped = 0
    skipping = False
    remaining = None if stop is None else stop - start
    while chunk := stream.read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)):
        if remaining is not None:
            remaining -= len(chunk)
        if skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                skipped += len(chunk)
                continue
            consumed += skipped + newline + 1
            skipping, skipped = False, 0
            yield None, consumed
            chunk = chunk[newline + 1 :]
        data = carry + chunk if carry else chunk
        last = data.rfind(b"\n")
        if last >= 0:
            consumed += last + 1
            yield data[:last], consumed
            carry = data[last + 1 :]
        else:
            carry = data
        if len(carry) > MAX_LINE_BYTES:
            skipping, skipped, carry = True, len(carry), b""
    if final and skipping:
        yield None, consumed + skipped
    elif final and carry:
        yield carry, consumed + len(carry)


def read_claude_history(path: Path) -> list[HistoryEntry]:
    """Every valid entry in ``path``, newest first; a missing file is an empty history.

    Bad lines are skipped (``HistoryIndex.stats`` counts them); nothing here raises on
    file content.
    """
    entries: list[HistoryEntry] = []
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return []
    with stream:
        for block, _ in line_blocks(stream, 0, final=True):
            if block is None:
                continue
            for line in block.split(b"\n"):
                for display, timestamp, project, session_id in entries_in_line(line):
                    entries.append(HistoryEntry(display, timestamp, project, session_id))
    entries.reverse()
    return entries


def normalize_directory(directory: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(directory))


def filter_by_directory(
    entries: Iterable[HistoryEntry], directory: str | os.PathLike[str]
) -> list[HistoryEntry]:
    """The entries whose project is ``directory`` (resolved, as the CLI writes projects)."""
    target = normalize_directory(directory)
    return [entry for entry in entries if entry.project == target]
