"""The first full read of a big history.jsonl, spread over the machine's cores.

`baton sessions --all` without a usable cache parses the whole file once: on a million
lines that is seconds of one core while the others idle. Here the file is cut at line
starts into a piece per core; forked children parse all pieces but the first into their
own index and send its tallies back (``marshal``, builtin types only), while this process
parses the first piece. The pieces are folded in file order, so the result is exactly a
serial build's (a property test holds it to that).

Only for one-shot processes such as the CLI: forking the bot (threads, an event loop) is
not safe, and the bot builds its index once per start anyway. No fork, a small file, or a
child that failed all fall back to parsing in this process.
"""

from __future__ import annotations

import marshal
import os
import signal
from pathlib import Path
from typing import Any, TypeAlias

from session_core.history_index import HistoryIndex
from session_core.history_lines import SessionTally
from session_core.history_mark import FileMark

MIN_SPLIT_BYTES = 8 << 20
"""Below this a whole build takes about a tenth of a second: not worth a fork."""
_MAX_PIECES = 8
_SCAN = 64 << 10

Piece: TypeAlias = tuple[Any, ...]
"""(tally rows, by_project, seq, lines, entries, skipped, end): one piece's index."""


def build(
    index: HistoryIndex, *, pieces: int | None = None, min_bytes: int = MIN_SPLIT_BYTES
) -> None:
    """Build a fresh ``index`` from the whole file, in ``pieces`` processes (default:
    one per CPU this process may use). An index that is already built just refreshes."""
    count = min(pieces or _cpus(), _MAX_PIECES)
    if index.built or count < 2 or not hasattr(os, "fork"):
        index.refresh()
        return
    try:
        stream = index.path.open("rb")
    except OSError:
        index.refresh()
        return
    with stream, index._lock:
        st = os.fstat(stream.fileno())
        cuts = _cuts(stream.fileno(), st.st_size, count) if st.st_size >= min_bytes else [0]
        if len(cuts) < 2:
            index._refresh_locked()
            return
        spans = list(zip(cuts[1:], [*cuts[2:], None], strict=True))
        children = [_fork(index.path, start, stop) for start, stop in spans]
        try:
            index._reset()
            end = index._ingest(stream, 0, cuts[1])
            for i, (start, stop) in enumerate(spans):
                child, children[i] = children[i], None
                piece = _collect(child)
                end = _fold(index, piece if piece is not None else _parse(index.path, start, stop))
        except BaseException:
            _abandon(children)
            index._reset()
            raise
        index._built = True
        index._mark = FileMark.take(stream, st, end)
        index._tail_mark = None
        index._tail_answers.clear()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cuts(fd: int, size: int, count: int) -> list[int]:
    """Piece starts: 0, then the first line start at or after each ``size * k / count``."""
    cuts = [0]
    for k in range(1, count):
        position = max(size * k // count - 1, cuts[-1])
        while chunk := os.pread(fd, _SCAN, position):
            newline = chunk.find(b"\n")
            if newline >= 0:
                cut = position + newline + 1
                if cuts[-1] < cut < size:
                    cuts.append(cut)
                break
            position += len(chunk)
        else:
            break  # the rest of the file is one line
    return cuts


def _parse(path: Path, start: int, stop: int | None) -> Piece:
    """One piece's index, as builtin values, with sequence numbers counted from 0."""
    part = HistoryIndex(path)
    with path.open("rb") as stream:
        end = part._ingest(stream, start, stop)
    rows = [session.row() for session in part._sessions.values()]
    return rows, part._by_project, part._seq, part._lines, part._entries, part._skipped, end


def _fold(index: HistoryIndex, piece: Piece) -> int:
    """Add the piece that follows what ``index`` holds; return the offset after it."""
    rows, by_project, seq, lines, entries, skipped, end = piece
    offset = index._seq
    sessions = index._sessions
    for row in rows:
        later = SessionTally.from_row(row, offset)
        earlier = sessions.get(later.session_id)
        if earlier is None:
            sessions[later.session_id] = later
        else:
            earlier.absorb(later)
    known = index._by_project
    for project, in_piece in by_project.items():
        in_project = known.get(project)
        if in_project is None:
            known[project] = in_project = {}
        for session_id, last in in_piece.items():
            in_project[session_id] = last + offset
    index._seq += seq
    index._lines += lines
    index._entries += entries
    index._skipped += skipped
    index._order = None
    return int(end)


Child: TypeAlias = tuple[int, int] | None
"""(pid, read end of its pipe), or None when it could not be started."""


def _fork(path: Path, start: int, stop: int | None) -> Child:
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid:
        os.close(write_end)
        return pid, read_end
    code = 1
    try:  # the child: parse, send, and leave without running the parent's exit handlers
        os.close(read_end)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(marshal.dumps(_parse(path, start, stop)))
        code = 0
    finally:
        os._exit(code)


def _collect(child: Child) -> Piece | None:
    """The child's piece, or None if it did not deliver one whole."""
    if child is None:
        return None
    pid, read_end = child
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return None
    try:
        piece = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    return piece if isinstance(piece, tuple) and len(piece) == 7 else None


def _abandon(children: list[Child]) -> None:
    """This process is failing: stop the children it no longer waits for."""
    for child in children:
        if child is None:
            continue
        pid, read_end = child
        os.close(read_end)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
