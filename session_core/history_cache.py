"""A disposable on-disk copy of the full history index, so `baton sessions --all` is
not a full parse every time.

It holds nothing history.jsonl does not: deleting it changes only speed, and a cache
that does not verify is ignored. It is stamped with the file's identity (device and
inode), the offset it was read up to, and hashes of the first and last kilobyte before
that offset; a loaded cache parses only the bytes appended since. A replaced, rotated,
truncated or rewritten (pruned) file fails the stamp and the index is built again.

Format: magic, CRC-32 of the payload, then the payload in ``marshal`` (builtin types
only, nothing executable); the checksum is verified before anything is decoded. Each
session's row is marshalled on its own, so a listing decodes only the rows it changes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import marshal
import os
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from session_core.history_index import HistoryIndex
from session_core.history_lines import (
    SessionRecord,
    SessionTally,
    entries_in_line,
    is_real_prompt,
    line_blocks,
)
from session_core.history_mark import FileMark

MAGIC = b"BATONIX1"
_STAMP_BYTES = 1024
_VERSION = (2, sys.version_info[:2])


def cache_file(cache_dir: Path, history_path: Path) -> Path:
    """One cache per history file (per CLAUDE_CONFIG_DIR)."""
    key = hashlib.sha256(os.fsencode(history_path.absolute())).hexdigest()[:16]
    return cache_dir / f"history-index-{key}.bin"


def _stamp(fd: int, end: int) -> tuple[bytes, bytes]:
    head = os.pread(fd, min(end, _STAMP_BYTES), 0)
    tail_start = max(0, end - _STAMP_BYTES)
    tail = os.pread(fd, end - tail_start, tail_start)
    return hashlib.sha256(head).digest(), hashlib.sha256(tail).digest()


def load(index: HistoryIndex, cache: Path) -> bool:
    """Fill a fresh ``index`` from ``cache`` if it still describes the file's start.

    Returns False (the index untouched) for a missing, corrupt or stale cache.
    """
    state = _read(cache)
    if state is None:
        return False
    try:
        return _restore(index, state)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OSError):
        return False


def _read(cache: Path) -> dict[str, Any] | None:
    try:
        blob = cache.read_bytes()
    except OSError:
        return None
    payload = memoryview(blob)[12:]  # not copied: the cache is tens of megabytes
    if blob[:8] != MAGIC or zlib.crc32(payload).to_bytes(4, "big") != blob[8:12]:
        return None
    try:
        state = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    return state if isinstance(state, dict) and state.get("version") == _VERSION else None


def _fits(fd: int, state: dict[str, Any], path: Path) -> bool:
    """The file is still the one the cache describes, up to ``end`` (maybe grown since)."""
    st = os.fstat(fd)
    end = state["end"]
    if state["path"] != str(path) or (st.st_dev, st.st_ino) != (state["dev"], state["ino"]):
        return False
    return st.st_size >= end and _stamp(fd, end) == (state["head"], state["tail"])


def _restore(index: HistoryIndex, state: dict[str, Any]) -> bool:
    if state["version"] != _VERSION or state["path"] != str(index.path):
        return False
    try:
        fd = os.open(index.path, os.O_RDONLY)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        end = state["end"]
        if not _fits(fd, state, index.path):
            return False
        with os.fdopen(os.dup(fd), "rb") as stream:
            taken = FileMark.take(stream, st, end)
        # Never "untouched": the first refresh reads whatever follows ``end``.
        mark = dataclasses.replace(taken, mtime_ns=-1, ctime_ns=-1)
    finally:
        os.close(fd)
    sessions: dict[str, SessionTally] = {}
    for row in marshal.loads(state["rows"]).values():
        session = SessionTally.from_row(marshal.loads(row))
        sessions[session.session_id] = session
    counters = marshal.loads(state["index"])
    index._reset()
    index._sessions = sessions
    index._by_project = counters["by_project"]
    index._seq, index._lines = state["seq"], counters["lines"]
    index._entries, index._skipped = counters["entries"], counters["skipped"]
    index._mark = mark
    index._built = True
    return True


@dataclass(frozen=True, slots=True)
class CachedListing:
    """Every session, newest first, without building the index: the sessions that lines
    appended since the cache touched (as records), then the rest as the text ``render``
    made of them when the cache was saved."""

    fresh: list[SessionRecord]
    rendered: list[tuple[str, bytes]]
    """(session id, what ``render`` made of it), for the sessions not in ``fresh``."""


def cached_listing(path: Path, cache: Path) -> CachedListing | None:
    """The listing from ``cache`` plus the lines appended to ``path`` since; None when
    the cache is missing, corrupt, stale, or was saved without ``render``."""
    state = _read(cache)
    if state is None or state.get("heads") is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if not _fits(fd, state, path):
            return None
        with os.fdopen(os.dup(fd), "rb") as stream:
            touched = _appended(stream, state)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OSError):
        return None
    finally:
        os.close(fd)
    fresh = sorted(touched.values(), key=lambda session: session.seq, reverse=True)
    pairs = zip(state["sids"], state["heads"], strict=True)
    rendered = [pair for pair in pairs if pair[0] not in touched] if touched else list(pairs)
    return CachedListing([session.record() for session in fresh], rendered)


def _appended(stream: BinaryIO, state: dict[str, Any]) -> dict[str, SessionTally]:
    """The sessions the complete lines after the cached offset add to or start."""
    rows: dict[str, bytes] | None = None  # decoded only when an old session goes on
    known = frozenset(state["sids"])
    seq = state["seq"]
    touched: dict[str, SessionTally] = {}
    for block, _ in line_blocks(stream, state["end"], final=False):
        if block is None:
            continue
        for line in block.split(b"\n"):
            for display, ts, project, session_id in entries_in_line(line):
                if session_id is None:
                    continue
                seq += 1
                real = display if is_real_prompt(display) else None
                session = touched.get(session_id)
                if session is None and session_id in known:
                    rows = rows if rows is not None else marshal.loads(state["rows"])
                    row = marshal.loads(rows[session_id])
                    session = touched[session_id] = SessionTally.from_row(row)
                if session is None:
                    touched[session_id] = SessionTally(session_id, display, real, ts, project, seq)
                else:
                    session.add(display, real, ts, project, seq)
    return touched


def save(
    index: HistoryIndex, cache: Path, render: Callable[[SessionRecord], bytes] | None = None
) -> None:
    """Write ``index`` to ``cache`` atomically (a temporary file, then a rename).

    Best effort: a cache that cannot be written only costs the next run its speed.
    """
    mark = index._mark
    if not index.built or mark is None:
        return
    try:
        fd = os.open(index.path, os.O_RDONLY)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (mark.device, mark.inode) or st.st_size < mark.end:
            return
        head, tail = _stamp(fd, mark.end)
    finally:
        os.close(fd)
    state = {
        "version": _VERSION,
        "path": str(index.path),
        "dev": mark.device,
        "ino": mark.inode,
        "end": mark.end,
        "head": head,
        "tail": tail,
        "seq": index._seq,
        "rows": marshal.dumps(
            {s.session_id: marshal.dumps(s.row()) for s in index._sessions.values()}
        ),
        "index": marshal.dumps(
            {
                "lines": index._lines,
                "entries": index._entries,
                "skipped": index._skipped,
                "by_project": index._by_project,
            }
        ),
        "sids": None,
        "heads": None,
    }
    if render is not None:
        listing = index.sessions()
        state["sids"] = [record.session_id for record in listing]
        state["heads"] = [render(record) for record in listing]
    payload = marshal.dumps(state)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=cache.parent, prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(MAGIC + zlib.crc32(payload).to_bytes(4, "big") + payload)
        os.replace(temporary, cache)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
