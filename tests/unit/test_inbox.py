"""The inbox (issue 10, finding 6): names never collide, old files expire."""

from __future__ import annotations

import os
from pathlib import Path

from chat_adapters.inbox import Inbox


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_two_files_of_one_name_in_one_second_both_survive(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox", clock=Clock(1_800_000_000.0))
    first = inbox.spool("document", "notes.md", b"first", "text/markdown")
    second = inbox.spool("document", "notes.md", b"second", "text/markdown")
    assert first.path != second.path
    assert first.path.read_bytes() == b"first" and second.path.read_bytes() == b"second"
    assert first.path.name.endswith("-notes.md")


def test_names_are_kept_inside_the_inbox_and_private(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox")
    spooled = inbox.spool("document", "../../etc/passwd", b"x", "text/plain")
    assert spooled.path.parent == tmp_path / "inbox"
    hidden = inbox.spool("document", ".bashrc", b"x", "text/plain")
    assert not hidden.path.name.startswith(".")
    assert spooled.path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "inbox").stat().st_mode & 0o777 == 0o700


def test_files_older_than_the_keep_period_are_removed(tmp_path: Path) -> None:
    clock = Clock(1_800_000_000.0)
    inbox = Inbox(tmp_path / "inbox", keep_days=7, clock=clock)
    old = inbox.spool("document", "old.txt", b"old", "text/plain")
    new = inbox.spool("document", "new.txt", b"new", "text/plain")
    os.utime(old.path, (clock.now - 8 * 86400, clock.now - 8 * 86400))
    os.utime(new.path, (clock.now - 6 * 86400, clock.now - 6 * 86400))
    assert inbox.clean() == 1
    assert not old.path.exists() and new.path.exists()
    assert Inbox(tmp_path / "missing").clean() == 0
