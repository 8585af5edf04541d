"""One directory's sessions from history.jsonl without building the whole index.

``baton sessions --dir D`` is a one-shot process: building the full index (every line
JSON-decoded) to answer for one directory costs seconds on a million-line file. Here
the file is byte-searched for the JSON-encoded path first and only lines that contain
it are decoded, so the cost is one pass of ``bytes.find`` plus the directory's own lines.

With a ``limit`` the newest sessions come from the backward scan (which stops as soon
as it has them), and only their lines are decoded.

A session is summarized from its lines in this directory; a session that was also used
elsewhere keeps ``project`` = this directory and counts only the prompts made here (the
full index sees the other directory's lines too).
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

from session_core import history as _history
from session_core.history import SessionRecord


def _openers(target: str) -> list[bytes]:
    """``"`` + the JSON string body of ``target``, raw UTF-8 and ASCII-escaped."""
    forms = {json.dumps(target, ensure_ascii=False)[1:-1], json.dumps(target)[1:-1]}
    return [b'"' + form.encode("utf-8", "surrogatepass") for form in sorted(forms)]


def directory_sessions(path: Path, target: str, *, limit: int | None = None) -> list[SessionRecord]:
    """Sessions with a prompt in ``target`` (a resolved path), newest first.

    Equal to ``HistoryIndex.sessions(target)`` for sessions used only in ``target``.
    """
    if limit is not None and limit <= 0:
        return []
    wanted: set[bytes] | None = None
    if limit is not None:
        newest = list(itertools.islice(_history._distinct_backwards(path, target), limit))
        if not newest:
            return []
        wanted = {json.dumps(session_id).encode("utf-8", "surrogatepass") for session_id in newest}
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return []
    try:
        sessions = _scan(fd, target, wanted)
    finally:
        os.close(fd)
    ordered = sorted(sessions.values(), key=lambda session: session.seq, reverse=True)
    if limit is not None:
        ordered = ordered[:limit]
    return [session.record() for session in ordered]


def _scan(fd: int, target: str, wanted: set[bytes] | None) -> dict[str, _history._Session]:
    openers = _openers(target)
    closers = (b'"', b'/"')
    overlap = max(len(opener) for opener in openers) + 1
    chunk_size = _history._READ_CHUNK
    sessions: dict[str, _history._Session] = {}
    seq = 0
    position = 0
    done_until = 0  # lines before this offset were already read
    while chunk := os.pread(fd, chunk_size, position):
        hits: list[int] = []
        for opener in openers:
            hit = chunk.find(opener)
            while hit >= 0:
                after = hit + len(opener)
                if chunk.startswith(closers, after) or after + 2 > len(chunk):
                    hits.append(hit)
                hit = chunk.find(opener, after)
        if len(openers) > 1:
            hits.sort()
        for hit in hits:
            if position + hit < done_until:
                continue
            line, line_end = _history._line_around(fd, chunk, position, hit)
            done_until = line_end
            if wanted is not None and not any(needle in line for needle in wanted):
                continue
            for display, ts, project, session_id in _history._entries_in_line(line):
                if project != target or session_id is None:
                    continue
                seq += 1
                real = display if _history._is_real_prompt(display) else None
                session = sessions.get(session_id)
                if session is None:
                    sessions[session_id] = _history._Session(
                        session_id, display, real, ts, project, seq
                    )
                else:
                    session.add(display, real, ts, project, seq)
        if len(chunk) < chunk_size:
            break
        position += max(1, len(chunk) - overlap)
    return sessions
