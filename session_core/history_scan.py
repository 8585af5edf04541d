"""Byte-level scans of history.jsonl: answers without building the whole index.

A one-shot process (``baton sessions --dir D``, ``baton ask``) should not JSON-decode a
million lines to answer for one directory or one session. These scans byte-search the
file for the JSON-encoded path or id first and decode only the lines that contain it,
so the cost is one pass of ``bytes.find`` (or, reading backwards from the end, only as
far back as the answer is) plus the matching lines.

Plain reads, not ``mmap``: the CLI's prune may truncate the file under us, and a mapped
page past the new end would kill the process with SIGBUS.

``directory_sessions`` summarizes a session from its lines in the directory; a session
that was also used elsewhere keeps ``project`` = this directory and counts only the
prompts made here (the full index sees the other directory's lines too).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from session_core.history_lines import (
    MAX_LINE_BYTES,
    READ_CHUNK,
    SessionRecord,
    SessionTally,
    entries_in_line,
    is_real_prompt,
)
from session_core.history_mark import pread

TAIL_BLOCK = 64 << 10


def last_line_end(stream: BinaryIO, size: int) -> int:
    """Offset just past the last newline: a trailing partial line is not ours to read."""
    position = size
    while position > 0:
        start = max(0, position - TAIL_BLOCK)
        newline = pread(stream, start, position - start).rfind(b"\n")
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


def backward_sessions(stream: BinaryIO, end: int, target: str) -> Iterator[str]:
    """Session ids of the lines before ``end`` whose project is ``target``, last first.

    Reads 64 KiB blocks backwards and JSON-decodes only lines that contain the project
    string, so the cost is proportional to how far back the answer is, not to the file.
    ``end`` must be 0 or just past a newline.
    """
    needles = _needles(target)
    buffer = pread(stream, max(0, end - TAIL_BLOCK), min(end, TAIL_BLOCK))
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
            found = entries_in_line(buffer[line_start:line_end])
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
            read_from = max(0, buffer_start - TAIL_BLOCK)
            buffer = pread(stream, read_from, buffer_start - read_from) + carry
            buffer_start = read_from
        limit = len(buffer)


def _before_huge_line(stream: BinaryIO, position: int) -> tuple[bytes, int]:
    """The block ending just before the line that contains ``position - 1`` starts."""
    while position > 0:
        start = max(0, position - TAIL_BLOCK)
        block = pread(stream, start, position - start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            return block[: newline + 1], start
        position = start
    return b"", 0


def distinct_backwards(path: Path, target: str) -> Iterator[str]:
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return
    with stream:
        end = last_line_end(stream, os.fstat(stream.fileno()).st_size)
        seen: set[str] = set()
        for session_id in backward_sessions(stream, end, target):
            if session_id not in seen:
                seen.add(session_id)
                yield session_id


def scan_session(stream: BinaryIO, session_id: str) -> SessionRecord | None:
    """One session's record from the lines that mention its id, found by byte search.

    Chunks overlap by the needle's length so an id split across two reads is still found.
    """
    needle = json.dumps(session_id).encode("utf-8", "surrogatepass")
    fd = stream.fileno()
    session: SessionTally | None = None
    seq = 0
    position = 0
    done_until = 0  # lines before this offset were already read
    while chunk := os.pread(fd, READ_CHUNK, position):
        hit = chunk.find(needle)
        while hit >= 0:
            if position + hit >= done_until:
                line, line_end = line_around(fd, chunk, position, hit)
                done_until = line_end
                for display, ts, project, found_id in entries_in_line(line):
                    if found_id != session_id:
                        continue
                    seq += 1
                    real = display if is_real_prompt(display) else None
                    if session is None:
                        session = SessionTally(session_id, display, real, ts, project, seq)
                    else:
                        session.add(display, real, ts, project, seq)
            hit = chunk.find(needle, hit + 1)
        if len(chunk) < READ_CHUNK:
            break
        position += max(1, len(chunk) - len(needle) + 1)
    return session.record() if session is not None else None


def line_around(fd: int, chunk: bytes, chunk_start: int, index: int) -> tuple[bytes, int]:
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
            begin = max(0, line_start - TAIL_BLOCK)
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
        newest = list(itertools.islice(distinct_backwards(path, target), limit))
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


def _scan(fd: int, target: str, wanted: set[bytes] | None) -> dict[str, SessionTally]:
    openers = _openers(target)
    closers = (b'"', b'/"')
    overlap = max(len(opener) for opener in openers) + 1
    chunk_size = READ_CHUNK
    sessions: dict[str, SessionTally] = {}
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
            line, line_end = line_around(fd, chunk, position, hit)
            done_until = line_end
            if wanted is not None and not any(needle in line for needle in wanted):
                continue
            for display, ts, project, session_id in entries_in_line(line):
                if project != target or session_id is None:
                    continue
                seq += 1
                real = display if is_real_prompt(display) else None
                session = sessions.get(session_id)
                if session is None:
                    sessions[session_id] = SessionTally(session_id, display, real, ts, project, seq)
                else:
                    session.add(display, real, ts, project, seq)
        if len(chunk) < chunk_size:
            break
        position += max(1, len(chunk) - overlap)
    return sessions
