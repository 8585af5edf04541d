"""Is the data dir usable? Asked once before `baton run` starts anything.

A read-only or full data dir would otherwise surface as a traceback from whichever
piece writes first (the per-token lock, SQLite), and a service manager would restart
it in a loop. One clear line and exit status 2 say what to fix instead.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_PROBE_BYTES = 64 << 10
"""Room the start needs at least: the lock files and SQLite's first pages."""


def data_dir_problem(data_dir: Path) -> str | None:
    """Why ``data_dir`` cannot be used (missing permission, read-only, full), or None."""
    probe = data_dir / f".baton-probe-{os.getpid()}"
    try:
        if not data_dir.exists():
            data_dir.mkdir(parents=True, mode=0o700)
            data_dir.chmod(0o700)  # mkdir's mode is filtered by the umask
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            written = 0
            while written < _PROBE_BYTES:  # a full disk fails here, not in SQLite
                written += os.write(fd, b"\0" * (_PROBE_BYTES - written))
        finally:
            os.close(fd)
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return None
