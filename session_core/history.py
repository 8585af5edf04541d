"""history.jsonl: Claude Code's prompt history, read tolerantly and appended safely.

The interactive CLI appends one compact JSON line per submitted prompt. The bot treats
that file as its session index, so reading it must never fail (real files hold blank,
cut-off, non-UTF-8 and hand-edited lines), must stay cheap on a file of a million lines
(the index re-reads only appended bytes; "newest session for D" reads backwards from the
end), and writing to it must look exactly like the CLI's own lines so the terminal's
up-arrow and ``claude --resume`` see chat prompts too.

"Newest" means appended last, as the CLI's own up-arrow history orders it; timestamps are
kept and reported but a clock change cannot reorder the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

from session_core.history_writer import append_whole_line
from session_core.lazy_log import LazyLogger

log = LazyLogger(__name__)

MAX_LINE_BYTES = 1 << 20
"""Longer lines are skipped (and counted) without ever being held in memory whole."""

LOCK_STALE_S = 10.0
"""The CLI's lock (proper-lockfile) treats a lock directory older than this as abandoned."""

_READ_CHUNK = 4 << 20
_TAIL_BLOCK = 64 << 10
_FINGERPRINT = 64
_TAIL_CATCH_UP_LIMIT = 8 << 20
_DIRECTORY_CACHE_SIZE = 1024

_raw_decode = json.JSONDecoder().raw_decode
_SLASH_COMMAND = re.compile(r"/[A-Za-z][\w:.-]*(?:\s|$)")
_LINE_SEPARATORS = re.compile("[\u2028\u2029]")

# display, timestamp_ms, project, session_id
_Fields: TypeAlias = tuple[str, int, str, str | None]


class HistoryLockTimeout(TimeoutError):
    """history.jsonl.lock stayed held (and fresh) for longer than we were willing to wait."""


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


# --------------------------------------------------------------------------- parsing


def _fields(obj: object) -> _Fields | None:
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


def _parse_line(line: bytes) -> _Fields | None:
    """The fast path: one well-formed line. Anything unusual returns None."""
    try:
        text = line.decode("utf-8")
        obj, end = _raw_decode(text)
    except (ValueError, RecursionError):
        return None
    if end != len(text) and not text[end:].isspace():
        return None
    return _fields(obj)


def _salvage(line: bytes) -> list[_Fields]:
    """Entries in a line the fast path refused, read the way the CLI reads them.

    The CLI also splits a line at ``\\r`` (and at U+2028/U+2029 when the piece is not
    JSON), and accepts leading whitespace; doing the same keeps both readers agreeing.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return []
    found: list[_Fields] = []
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


def _entries_in_line(line: bytes) -> list[_Fields]:
    if len(line) > MAX_LINE_BYTES:
        return []
    fields = _parse_line(line)
    if fields is not None:
        return [fields]
    return _salvage(line) if line.strip() else []


def is_slash_command(display: str) -> bool:
    """``/exit``, ``/clear``, ``/model opus``: bookkeeping, not what a session is about."""
    return display[:1] == "/" and _SLASH_COMMAND.match(display) is not None


def _is_real_prompt(display: str) -> bool:
    return bool(display.strip()) and not is_slash_command(display)


def _line_blocks(
    stream: BinaryIO, start: int, *, final: bool
) -> Iterator[tuple[bytes | None, int]]:
    """Runs of complete lines from ``start``, with the file offset just past each run.

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
    while chunk := stream.read(_READ_CHUNK):
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
        for block, _ in _line_blocks(stream, 0, final=True):
            if block is None:
                continue
            for line in block.split(b"\n"):
                for display, timestamp, project, session_id in _entries_in_line(line):
                    entries.append(HistoryEntry(display, timestamp, project, session_id))
    entries.reverse()
    return entries


def _normalize_directory(directory: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(directory))


def filter_by_directory(
    entries: Iterable[HistoryEntry], directory: str | os.PathLike[str]
) -> list[HistoryEntry]:
    """The entries whose project is ``directory`` (resolved, as the CLI writes projects)."""
    target = _normalize_directory(directory)
    return [entry for entry in entries if entry.project == target]


# --------------------------------------------------------------------------- writing


def _encode_line(entry: dict[str, Any]) -> bytes:
    """Compact JSON as JavaScript's ``JSON.stringify`` writes it, plus the newline.

    Python and JS agree on every escape except a lone surrogate, which JS writes as a
    ``\\uXXXX`` escape and Python cannot encode; those are escaped by hand.
    """
    text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        escaped = re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)
        return escaped.encode("utf-8") + b"\n"


def _lock_is_stale(lock: Path) -> bool:
    try:
        return time.time() - lock.stat().st_mtime > LOCK_STALE_S
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def history_lock(path: Path, *, timeout_s: float = 5.0) -> Iterator[None]:
    """The CLI's own lock on history.jsonl: a directory ``history.jsonl.lock``.

    ``mkdir`` is atomic, so whoever creates it holds the lock; a lock older than 10 s
    belongs to a writer that died and is broken, as proper-lockfile (the CLI's library)
    does. Retries back off with jitter so two waiting writers do not collide forever.
    """
    lock = path.with_name(path.name + ".lock")
    deadline = time.monotonic() + timeout_s
    delay = 0.002
    while True:
        try:
            os.mkdir(lock)
            break
        except FileExistsError:
            if _lock_is_stale(lock):
                log.warning("history_lock_stale_removed", lock=str(lock))
                with contextlib.suppress(FileNotFoundError):
                    os.rmdir(lock)
                continue
            if time.monotonic() >= deadline:
                raise HistoryLockTimeout(
                    f"{lock} has been held by another writer for over {timeout_s:g} s"
                ) from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.1)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(lock)


def append_history_entry(
    path: Path,
    *,
    display: str,
    project: str | os.PathLike[str],
    session_id: str,
    timestamp_ms: int | None = None,
    lock_timeout_s: float = 5.0,
) -> HistoryEntry:
    """Append one prompt line exactly as the CLI writes it, so the terminal sees it.

    One ``write`` of the whole line on an ``O_APPEND`` descriptor, under the CLI's lock,
    so concurrent writers (the CLI, other bot processes) never interleave; a partial last
    line is closed first and a failed write is undone (``append_whole_line``). The file
    is created 0600 like the CLI's. Raises ``ValueError`` for bad arguments, ``OSError``
    when the disk refuses the line (the file is then unchanged) and ``HistoryLockTimeout``
    when the lock stays busy; nothing is written then.
    """
    if not isinstance(display, str):
        raise ValueError("display must be a string")
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("session_id must be a non-empty string")
    if timestamp_ms is None:
        timestamp_ms = time.time_ns() // 1_000_000
    elif type(timestamp_ms) is not int:
        raise ValueError("timestamp_ms must be an int (milliseconds since the epoch)")
    resolved = _normalize_directory(project)
    line = _encode_line(
        {
            "display": display,
            "pastedContents": {},
            "timestamp": timestamp_ms,
            "project": resolved,
            "sessionId": session_id,
        }
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with history_lock(path, timeout_s=lock_timeout_s):
        append_whole_line(path, line)
    return HistoryEntry(display, timestamp_ms, resolved, session_id)


# --------------------------------------------------------------------------- the index


class _Session:
    """Mutable per-session aggregate; ``SessionRecord`` snapshots are made on demand."""

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


@dataclass(frozen=True, slots=True)
class _Mark:
    """How the file looked up to ``end``: enough to tell an append from a rewrite.

    The CLI's retention prune can rewrite the file in place or replace it; a changed
    inode, a size below ``end``, or different bytes at the head or just before ``end``
    all mean our offset no longer points where we think.
    """

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    end: int
    head: bytes
    tail: bytes

    @classmethod
    def take(cls, stream: BinaryIO, st: os.stat_result, end: int) -> _Mark:
        return cls(
            st.st_dev,
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
            end,
            _pread(stream, 0, min(end, _FINGERPRINT)),
            _pread(stream, max(0, end - _FINGERPRINT), min(end, _FINGERPRINT)),
        )

    def untouched(self, st: os.stat_result) -> bool:
        """Nothing happened at all since the mark: no need to even open the file."""
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == (
            self.device,
            self.inode,
            self.size,
            self.mtime_ns,
            self.ctime_ns,
        )

    def still_prefix(self, stream: BinaryIO, st: os.stat_result) -> bool:
        """The first ``end`` bytes are (as far as we can cheaply tell) what we read."""
        return (
            (st.st_dev, st.st_ino) == (self.device, self.inode)
            and st.st_size >= self.end
            and _pread(stream, 0, len(self.head)) == self.head
            and _pread(stream, self.end - len(self.tail), len(self.tail)) == self.tail
        )


def _pread(stream: BinaryIO, offset: int, size: int) -> bytes:
    return os.pread(stream.fileno(), size, offset) if size > 0 else b""


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
        self._tail_mark: _Mark | None = None
        self._tail_answers: dict[str, str | None] = {}

    def _reset(self) -> None:
        self._built = False
        self._mark: _Mark | None = None
        self._sessions: dict[str, _Session] = {}
        self._by_project: dict[str, dict[str, int]] = {}
        self._order: list[_Session] | None = None
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
            return _scan_session(stream, session_id)

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
        return _distinct_backwards(self.path, target)

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
            resolved = self._realpaths[key] = _normalize_directory(key)
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
            self._mark = _Mark.take(stream, st, end)
            self._tail_mark = None
            self._tail_answers.clear()

    def _ingest(self, stream: BinaryIO, start: int) -> int:
        """Parse complete lines from ``start``; return the offset after the last one.

        This is the hot loop of a full build (a million lines), so the common case (a
        well-formed CLI line) is inlined; anything unusual takes the general path.
        """
        end = start
        sessions = self._sessions
        by_project = self._by_project
        intern = sys.intern
        decode = _raw_decode
        seq = self._seq
        lines = entries = skipped = 0
        for block, offset in _line_blocks(stream, start, final=False):
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
                    found: Iterable[_Fields] = ((display, ts, project, session_id or None),)
                except (ValueError, RecursionError, LookupError, TypeError, AttributeError):
                    found = _entries_in_line(line)
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
                        real = display if _is_real_prompt(display) else None
                    session = sessions.get(session_id)
                    if session is None:
                        session = _Session(session_id, display, real, ts, project, seq)
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
                found = _backward_sessions(stream, end, target)
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
            end = _last_line_end(stream, st.st_size)
        else:
            end = start
            answers = self._tail_answers
            for block, offset in _line_blocks(stream, start, final=False):
                end = offset
                if block is None:
                    continue
                for line in block.split(b"\n"):
                    for _, _, project, session_id in _entries_in_line(line):
                        if session_id is not None and project in answers:
                            answers[project] = session_id
        if mark is None or mark.end != end or not mark.untouched(st):
            self._tail_mark = _Mark.take(stream, st, end)
        return end


def _last_line_end(stream: BinaryIO, size: int) -> int:
    """Offset just past the last newline: a trailing partial line is not ours to read."""
    position = size
    while position > 0:
        start = max(0, position - _TAIL_BLOCK)
        newline = _pread(stream, start, position - start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        position = start
    return 0


def _needles(target: str) -> list[bytes]:
    """Byte strings one of which any line whose project is ``target`` must contain.

    The project value is the JSON string of ``target``, possibly with a trailing slash;
    the closing quote keeps ``/a/b`` from matching every line of ``/a/bc``. Both the CLI's
    raw UTF-8 and an ASCII-escaping writer's form are looked for.
    """
    forms = {json.dumps(target, ensure_ascii=False)[1:-1], json.dumps(target)[1:-1]}
    needles: list[bytes] = []
    for form in sorted(forms):
        encoded = form.encode("utf-8", "surrogatepass")
        needles.append(encoded + b'"')
        if not encoded.endswith(b"/"):
            needles.append(encoded + b'/"')
    return needles


def _backward_sessions(stream: BinaryIO, end: int, target: str) -> Iterator[str]:
    """Session ids of the lines before ``end`` whose project is ``target``, last first.

    Reads 64 KiB blocks backwards and JSON-decodes only lines that contain the project
    string, so the cost is proportional to how far back the answer is, not to the file.
    ``end`` must be 0 or just past a newline.
    """
    needles = _needles(target)
    buffer = _pread(stream, max(0, end - _TAIL_BLOCK), min(end, _TAIL_BLOCK))
    buffer_start = end - len(buffer)
    limit = len(buffer)  # buffer[:limit] is unexamined and ends with a newline (or is empty)
    while True:
        if buffer_start == 0:
            low = 0
        else:  # the first line in the buffer may start in an earlier block
            newline = buffer.find(b"\n", 0, limit)
            low = newline + 1 if newline >= 0 else limit
        hit = max(buffer.rfind(needle, low, limit) for needle in needles)
        if hit >= 0:
            line_start = buffer.rfind(b"\n", 0, hit) + 1
            line_end = buffer.find(b"\n", hit, limit)
            found = _entries_in_line(buffer[line_start:line_end])
            for _, _, project, session_id in reversed(found):
                if project == target and session_id is not None:
                    yield session_id
            limit = line_start
            continue
        if buffer_start == 0:
            return
        carry = buffer[:low]
        if len(carry) > MAX_LINE_BYTES:  # inside a huge line: skip to its start, unread
            buffer, buffer_start = _before_huge_line(stream, buffer_start)
        else:
            read_from = max(0, buffer_start - _TAIL_BLOCK)
            buffer = _pread(stream, read_from, buffer_start - read_from) + carry
            buffer_start = read_from
        limit = len(buffer)


def _before_huge_line(stream: BinaryIO, position: int) -> tuple[bytes, int]:
    """The block ending just before the line that contains ``position - 1`` starts."""
    while position > 0:
        start = max(0, position - _TAIL_BLOCK)
        block = _pread(stream, start, position - start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            return block[: newline + 1], start
        position = start
    return b"", 0


def _distinct_backwards(path: Path, target: str) -> Iterator[str]:
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return
    with stream:
        end = _last_line_end(stream, os.fstat(stream.fileno()).st_size)
        seen: set[str] = set()
        for session_id in _backward_sessions(stream, end, target):
            if session_id not in seen:
                seen.add(session_id)
                yield session_id


def _scan_session(stream: BinaryIO, session_id: str) -> SessionRecord | None:
    """One session's record from the lines that mention its id, found by byte search.

    Plain reads, not ``mmap``: the CLI's prune may truncate the file under us, and a
    mapped page past the new end would kill the process with SIGBUS. Chunks overlap by
    the needle's length so an id split across two reads is still found.
    """
    needle = json.dumps(session_id).encode("utf-8", "surrogatepass")
    fd = stream.fileno()
    session: _Session | None = None
    seq = 0
    position = 0
    done_until = 0  # lines before this offset were already read
    while chunk := os.pread(fd, _READ_CHUNK, position):
        hit = chunk.find(needle)
        while hit >= 0:
            if position + hit >= done_until:
                line, line_end = _line_around(fd, chunk, position, hit)
                done_until = line_end
                for display, ts, project, found_id in _entries_in_line(line):
                    if found_id != session_id:
                        continue
                    seq += 1
                    real = display if _is_real_prompt(display) else None
                    if session is None:
                        session = _Session(session_id, display, real, ts, project, seq)
                    else:
                        session.add(display, real, ts, project, seq)
            hit = chunk.find(needle, hit + 1)
        if len(chunk) < _READ_CHUNK:
            break
        position += max(1, len(chunk) - len(needle) + 1)
    return session.record() if session is not None else None


def _line_around(fd: int, chunk: bytes, chunk_start: int, index: int) -> tuple[bytes, int]:
    """The complete line holding ``chunk[index]`` and the file offset just past it.

    A line without its newline yet (mid-write) comes back empty, as do lines longer than
    ``MAX_LINE_BYTES``; both are skipped like everywhere else.
    """
    start = chunk.rfind(b"\n", 0, index) + 1
    end = chunk.find(b"\n", index)
    if (start > 0 or chunk_start == 0) and end >= 0:
        return chunk[start:end], chunk_start + end + 1
    line_start = chunk_start + start
    if start == 0 and chunk_start > 0:  # the line began in an earlier chunk
        line_start = chunk_start
        while line_start > 0 and chunk_start - line_start <= MAX_LINE_BYTES:
            begin = max(0, line_start - _TAIL_BLOCK)
            newline = os.pread(fd, line_start - begin, begin).rfind(b"\n")
            if newline >= 0:
                line_start = begin + newline + 1
                break
            line_start = begin
    line = os.pread(fd, MAX_LINE_BYTES + 2, line_start)
    newline = line.find(b"\n")
    if newline < 0:
        return b"", line_start + len(line)
    return line[:newline], line_start + newline + 1
