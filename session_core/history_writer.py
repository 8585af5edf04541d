"""Appending to history.jsonl exactly as the CLI does, so the terminal sees chat prompts.

One ``write`` of the whole line on an ``O_APPEND`` descriptor, under the CLI's own lock
(a ``history.jsonl.lock`` directory), so concurrent writers (the CLI, other bot
processes) never interleave. Two faults are handled: a last line without its newline (a
``claude`` killed mid-write) is closed with a newline first, so our line is not glued
onto it and that partial line stays what it was; and a write that fails or is cut short
(ENOSPC, EFBIG) is truncated back to where it started, so no torn bytes are left to
swallow the next writer's line.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from session_core.history_lines import HistoryEntry, normalize_directory
from session_core.lazy_log import LazyLogger

log = LazyLogger(__name__)

LOCK_STALE_S = 10.0
"""The CLI's lock (proper-lockfile) treats a lock directory older than this as abandoned."""


class HistoryLockTimeout(TimeoutError):
    """history.jsonl.lock stayed held (and fresh) for longer than we were willing to wait."""


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
    resolved = normalize_directory(project)
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


def append_whole_line(path: Path, line: bytes) -> None:
    """Append ``line`` (ending in a newline) under the caller's lock; all or nothing.

    Raises ``OSError`` when the line could not be written whole; the file is then as it
    was before the call.
    """
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        start = os.fstat(fd).st_size
        if start > 0 and os.pread(fd, 1, start - 1) != b"\n":
            line = b"\n" + line
        written = 0
        try:
            while written < len(line):
                count = os.write(fd, line[written:])
                if count <= 0:
                    raise OSError(f"write to {path} made no progress")
                written += count
        except BaseException:
            if written:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)
