"""HistoryIndex: history.jsonl as the bot's session index, kept up with appends cheaply.

The bot treats Claude Code's prompt history as its session index, so it must stay cheap
on a file of a million lines: the index re-reads only appended bytes (rebuilding when
the file shrank or was replaced), and "newest session for D" on a cold index reads
backwards from the end instead of parsing the file.

"Newest" means appended last, as the CLI's own up-arrow history orders it; timestamps are
kept and reported but a clock change cannot reorder the file.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from session_core.history_lines import (
    MAX_LINE_BYTES,
    LineFields,
    SessionRecord,
    SessionTally,
    entries_in_line,
    is_real_prompt,
    line_blocks,
    normalize_directory,
    raw_decode,
)
from session_core.history_mark import FileMark
from session_core.history_scan import (
    backward_sessions,
    distinct_backwards,
    last_line_end,
    scan_session,
)
from session_core.lazy_log import LazyLogger

log = LazyLogger(__name__)

_TAIL_CATCH_UP_LIMIT = 8 << 20
_DIRECTORY_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What the index has read so far: the figures ``baton doctor`` shows."""

    lines: int
    entries: int
    skipped: int
    sessions: int
    projects: int
    offset: int
    rebuilds: int


class HistoryIndex:
    """An in-memory index of history.jsonl that keeps up with appends cheaply.

    Every query stats the file. Bytes appended since the last read are parsed and nothing
    else; a file that shrank, was replaced or rewritten is read again from the start.
    ``newest_session_for`` does not need the full index at all: on a cold index it reads
    backwards from the end until the directory shows up. Thread-safe.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._realpaths: dict[str, str] = {}
        self._reset()
        self._rebuilds = 0
        # Cold lookups (no full index yet): answers valid for the bytes up to _tail_mark.end.
        self._tail_mark: FileMark | None = None
        self._tail_answers: dict[str, str | None] = {}

    def _reset(self) -> None:
        self._built = False
        self._mark: FileMark | None = None
        self._sessions: dict[str, SessionTally] = {}
        self._by_project: dict[str, dict[str, int]] = {}
        self._order: list[SessionTally] | None = None
        self._seq = 0
        self._lines = 0
        self._entries = 0
        self._skipped = 0

    # ---------------------------------------------------------------- public queries

    def refresh(self) -> None:
        """Bring the index up to date with the file (full read the first time)."""
        with self._lock:
            self._refresh_locked()

    @property
    def stats(self) -> IndexStats:
        """Counters as of the last refresh (call ``refresh`` first for current figures)."""
        return IndexStats(
            lines=self._lines,
            entries=self._entries,
            skipped=self._skipped,
            sessions=len(self._sessions),
            projects=len(self._by_project),
            offset=self._mark.end if self._mark else 0,
            rebuilds=self._rebuilds,
        )

    @property
    def built(self) -> bool:
        """The whole file has been read once (queries answer from memory from now on)."""
        return self._built

    def sessions(
        self, directory: str | os.PathLike[str] | None = None, *, limit: int | None = None
    ) -> list[SessionRecord]:
        """Sessions, newest first, at most ``limit`` of them.

        With ``directory``: the sessions that have a prompt there, ordered by their
        newest prompt there.
        """
        with self._lock:
            self._refresh_locked()
            if directory is None:
                if self._order is None:
                    self._order = sorted(self._sessions.values(), key=lambda s: s.seq, reverse=True)
                chosen = self._order if limit is None else self._order[: max(limit, 0)]
                return [session.record() for session in chosen]
            in_project = self._by_project.get(self._realpath(directory), {})
            ordered = sorted(in_project.items(), key=lambda item: item[1], reverse=True)
            if limit is not None:
                ordered = ordered[: max(limit, 0)]
            return [self._sessions[session_id].record() for session_id, _ in ordered]

    def session(self, session_id: str) -> SessionRecord | None:
        """One session's record.

        On an index that was never fully built (a one-shot command), the file is searched
        for this id's bytes instead of being parsed whole: a fraction of the cost.
        """
        with self._lock:
            if self._built:
                self._refresh_locked()
                found = self._sessions.get(session_id)
                return found.record() if found else None
        opened = self._open()
        if opened is None:
            return None
        with opened[0] as stream:
            return scan_session(stream, session_id)

    def recent_session_ids(self, directory: str | os.PathLike[str]) -> Iterator[str]:
        """Ids of the sessions used in ``directory``, newest first, each once.

        Lazy on a cold index: it reads backwards only as far as the caller consumes, so
        "the newest one that still has a transcript" stays cheap.
        """
        target = self._realpath(directory)
        with self._lock:
            if self._built:
                self._refresh_locked()
                in_project = self._by_project.get(target, {})
                ordered = sorted(in_project.items(), key=lambda item: item[1], reverse=True)
                return iter([session_id for session_id, _ in ordered])
        return distinct_backwards(self.path, target)

    def newest_session_for(self, directory: str | os.PathLike[str]) -> str | None:
        """The session of the newest prompt in ``directory`` (resolved), or None.

        Answers from the full index when it is built; otherwise reads backwards from the
        end of the file, so an answer near the end costs a few blocks, not the file.
        """
        target = self._realpath(directory)
        with self._lock:
            if self._built:
                self._refresh_locked()
                in_project = self._by_project.get(target)
                if not in_project:
                    return None
                return max(in_project.items(), key=lambda item: item[1])[0]
            return self._newest_cold(target)

    # ---------------------------------------------------------------- internals

    def _realpath(self, directory: str | os.PathLike[str]) -> str:
        key = os.fspath(directory)
        resolved = self._realpaths.get(key)
        if resolved is None:
            if len(self._realpaths) >= _DIRECTORY_CACHE_SIZE:
                self._realpaths.clear()
            resolved = self._realpaths[key] = normalize_directory(key)
        return resolved

    def _open(self) -> tuple[BinaryIO, os.stat_result] | None:
        try:
            stream = self.path.open("rb")
        except FileNotFoundError:
            return None
        return stream, os.fstat(stream.fileno())

    def _refresh_locked(self) -> None:
        if self._built and self._mark is not None:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                st = None
            if st is not None and self._mark.untouched(st):
                return
        opened = self._open()
        if opened is None:
            if self._built and self._mark is not None:
                log.info("history_file_gone", path=str(self.path))
            self._reset()
            self._built = True
            return
        stream, st = opened
        with stream:
            mark = self._mark
            if not self._built or mark is None or not mark.still_prefix(stream, st):
                if self._built and mark is not None:
                    self._rebuilds += 1
                    log.info("history_rebuild", path=str(self.path), size=st.st_size)
                self._reset()
                start = 0
            else:
                start = mark.end
            end = self._ingest(stream, start)
            self._built = True
            self._mark = FileMark.take(stream, st, end)
            self._tail_mark = None
            self._tail_answers.clear()

    def _ingest(self, stream: BinaryIO, start: int, stop: int | None = None) -> int:
        """Parse complete lines from ``start`` (to ``stop``, a line start, or the end);
        return the offset after the last one.

        This is the hot loop of a full build (a million lines), so the common case (a
        well-formed CLI line) is inlined; anything unusual takes the general path.
        """
        end = start
        sessions = self._sessions
        by_project = self._by_project
        intern = sys.intern
        decode = raw_decode
        seq = self._seq
        lines = entries = skipped = 0
        for block, offset in line_blocks(stream, start, final=False, stop=stop):
            end = offset
            if block is None:
                lines += 1
                skipped += 1
                continue
            for line in block.split(b"\n"):
                lines += 1
                try:
                    if len(line) > MAX_LINE_BYTES:
                        raise ValueError
                    text = line.decode("utf-8")
                    obj, stop = decode(text)
                    if stop != len(text) and not text[stop:].isspace():
                        raise ValueError
                    display = obj["display"]
                    ts = obj["timestamp"]
                    project = obj["project"]
                    session_id = obj.get("sessionId")
                    if not (
                        type(display) is str
                        and type(ts) is int
                        and type(project) is str
                        and project
                        and project[-1] != "/"
                        and (session_id is None or type(session_id) is str)
                    ):
                        raise ValueError
                    found: Iterable[LineFields] = ((display, ts, project, session_id or None),)
                except (ValueError, RecursionError, LookupError, TypeError, AttributeError):
                    found = entries_in_line(line)
                    if not found:
                        skipped += 1
                        continue
                for display, ts, project, session_id in found:
                    entries += 1
                    if session_id is None:
                        continue
                    seq += 1
                    project = intern(project)
                    if display and display[0] != "/" and not display.isspace():
                        real: str | None = display
                    else:
                        real = display if is_real_prompt(display) else None
                    session = sessions.get(session_id)
                    if session is None:
                        session = SessionTally(session_id, display, real, ts, project, seq)
                        sessions[session_id] = session
                    else:
                        session.add(display, real, ts, project, seq)
                    in_project = by_project.get(project)
                    if in_project is None:
                        by_project[project] = in_project = {}
                    in_project[session.session_id] = seq
        if seq != self._seq:
            self._order = None
        self._seq = seq
        self._lines += lines
        self._entries += entries
        self._skipped += skipped
        return end

    # ---------------------------------------------------------------- cold lookups

    def _newest_cold(self, target: str) -> str | None:
        opened = self._open()
        if opened is None:
            self._tail_mark = None
            self._tail_answers.clear()
            return None
        stream, st = opened
        with stream:
            end = self._catch_up_tail(stream, st)
            if target not in self._tail_answers:
                if len(self._tail_answers) >= _DIRECTORY_CACHE_SIZE:
                    self._tail_answers.clear()
                found = backward_sessions(stream, end, target)
                self._tail_answers[target] = next(found, None)
            return self._tail_answers[target]

    def _catch_up_tail(self, stream: BinaryIO, st: os.stat_result) -> int:
        """Move the cold answers to the current end by reading only what was appended."""
        mark = self._tail_mark
        if (
            mark is not None
            and st.st_size - mark.end <= _TAIL_CATCH_UP_LIMIT
            and (mark.untouched(st) or mark.still_prefix(stream, st))
        ):
            start = mark.end
        else:
            self._tail_answers.clear()
            start = -1
        if start < 0:
            end = last_line_end(stream, st.st_size)
        else:
            end = start
            answers = self._tail_answers
            for block, offset in line_blocks(stream, start, final=False):
                end = offset
                if block is None:
                    continue
                for line in block.split(b"\n"):
                    for _, _, project, session_id in entries_in_line(line):
                        if session_id is not None and project in answers:
                            answers[project] = session_id
        if mark is None or mark.end != end or not mark.untouched(st):
            self._tail_mark = FileMark.take(stream, st, end)
        return end
