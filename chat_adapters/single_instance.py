"""One running bot per app token on this machine.

Two pollers on one Telegram token get 409 Conflict from each other; two gateway
sessions on one Discord token can get the token reset. So `baton run` holds an
advisory ``flock`` per token (named by a hash, never the token) and a second start
stops at once, naming the pid that holds it. The kernel drops the lock when the
holder exits, so a crash leaves nothing to clean up.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path


class AlreadyRunning(RuntimeError):
    """Another process runs a bot with the same token."""


@contextmanager
def token_lock(lock_dir: Path, app: str, token: str) -> Iterator[None]:
    lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    fd = os.open(lock_dir / f"{app}-{digest}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "another process"
            raise AlreadyRunning(
                f"a {app} bot with this token is already running here (pid {holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


@contextmanager
def token_locks(lock_dir: Path, tokens: dict[str, str]) -> Iterator[None]:
    """Hold every app's token lock, or none (AlreadyRunning)."""
    with ExitStack() as stack:
        for app, token in tokens.items():
            stack.enter_context(token_lock(lock_dir, app, token))
        yield
