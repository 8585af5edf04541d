"""How history.jsonl looked up to an offset: enough to tell an append from a rewrite.

The index and the on-disk cache both keep reading from where they stopped; this mark
says whether that offset still points where they think.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

_FINGERPRINT = 64


@dataclass(frozen=True, slots=True)
class FileMark:
    """How the file looked up to ``end``: enough to tell an append from a rewrite.

    The CLI's retention prune can rewrite the file in place or replace it; a changed
    inode, a size below ``end``, or different bytes at the head or just before ``end``
    all mean our offset no longer points where we think.
    """

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    end: int
    head: bytes
    tail: bytes

    @classmethod
    def take(cls, stream: BinaryIO, st: os.stat_result, end: int) -> FileMark:
        return cls(
            st.st_dev,
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
            end,
            pread(stream, 0, min(end, _FINGERPRINT)),
            pread(stream, max(0, end - _FINGERPRINT), min(end, _FINGERPRINT)),
        )

    def untouched(self, st: os.stat_result) -> bool:
        """Nothing happened at all since the mark: no need to even open the file."""
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == (
            self.device,
            self.inode,
            self.size,
            self.mtime_ns,
            self.ctime_ns,
        )

    def still_prefix(self, stream: BinaryIO, st: os.stat_result) -> bool:
        """The first ``end`` bytes are (as far as we can cheaply tell) what we read."""
        return (
            (st.st_dev, st.st_ino) == (self.device, self.inode)
            and st.st_size >= self.end
            and pread(stream, 0, len(self.head)) == self.head
            and pread(stream, self.end - len(self.tail), len(self.tail)) == self.tail
        )


def pread(stream: BinaryIO, offset: int, size: int) -> bytes:
    return os.pread(stream.fileno(), size, offset) if size > 0 else b""
