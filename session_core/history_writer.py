"""One line appended to a shared JSONL file so that it always stands on a line of its own.

The caller holds the file's lock (the CLI's ``history.jsonl.lock``). Two faults are
handled here: a last line without its newline (a ``claude`` killed mid-write) is closed
with a newline first, so our line is not glued onto it and that partial line stays what
it was; and a write that fails or is cut short (ENOSPC, EFBIG) is truncated back to
where it started, so no torn bytes are left to swallow the next writer's line.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


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
