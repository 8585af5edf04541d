"""One writer per session across processes: the bot and `baton ask` take turns.

In-process order comes from :mod:`session_core.turn_locks`; this adds an advisory
``flock`` on ``<claims_dir>/<session id>.lock`` for the length of a turn, so a turn from
another process on the same machine (a second bot, `baton ask`) waits instead of
writing the same transcript at once. The lock file names its holder, so a waiting door
can say who it waits for. The kernel drops the lock when a holder dies: nothing stale.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

POLL_S = 0.1


class SessionClaims:
    def __init__(self, claims_dir: Path) -> None:
        self.claims_dir = claims_dir

    def holder(self, session_id: str) -> str | None:
        """Who holds the session now (another process), or None when it is free."""
        path = self._path(session_id)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    @asynccontextmanager
    async def claim(self, session_id: str, holder: str) -> AsyncIterator[None]:
        """Hold the session for the body, waiting (cancellably) while another process has it."""
        self.claims_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._path(session_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(POLL_S)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{holder} (pid {os.getpid()})".encode(), 0)
            try:
                yield
            finally:
                with suppress(OSError):
                    os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _path(self, session_id: str) -> Path:
        safe = "".join(c for c in session_id if c.isalnum() or c == "-")[:64] or "unnamed"
        return self.claims_dir / f"{safe}.lock"
