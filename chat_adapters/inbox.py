"""Files people send, kept on disk under the data dir until their turn (and a while after).

An attachment is written here the moment its prompt is accepted, so a queued prompt holds
a path, not the file's bytes: a chat that queues twenty photos costs disk, not memory.
Names never collide (a stamp plus a random part; created exclusively), and files older
than ``keep_days`` are removed (:mod:`chat_adapters.housekeeping` calls :meth:`Inbox.clean`
at start-up and once a day).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import structlog

from chat_adapters.private_data import private_dir

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SpooledFile:
    """An attachment written to the inbox, waiting for its turn."""

    kind: Literal["image", "document"]
    path: Path
    media_type: str


class Inbox:
    def __init__(
        self, directory: Path, *, keep_days: float = 7.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.directory = directory
        self.keep_s = keep_days * 86400.0
        self._clock = clock

    def spool(
        self, kind: Literal["image", "document"], file_name: str, data: bytes, media_type: str
    ) -> SpooledFile:
        """Write ``data`` under a name no other file has (blocking: call in a thread)."""
        private_dir(self.directory)
        name = re.sub(r"[^\w.\-]+", "_", os.path.basename(file_name)).lstrip(".") or "file"
        stamp = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y%m%d-%H%M%S")
        while True:
            path = self.directory / f"{stamp}-{secrets.token_hex(3)}-{name[-120:]}"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            break
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        except BaseException:
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        return SpooledFile(kind, path, media_type)

    def clean(self) -> int:
        """Remove files older than the keep period; returns how many (blocking)."""
        cutoff = self._clock() - self.keep_s
        removed = 0
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return 0
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
        if removed:
            log.info("inbox_cleaned", removed=removed, keep_days=self.keep_s / 86400)
        return removed
