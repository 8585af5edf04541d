"""``BATON_DATA_DIR`` is private: 0700 directories, 0600 files, from the very start.

It holds the database (chat ids, the audit log), session claims, run locks and files
people sent (the inbox). Modes are set explicitly when things are created, never by
changing the process umask: Claude Code runs as a child of this process and must write
the user's project files with the user's usual modes. ``baton doctor`` reports anything
under the directory that others can read, with the command that fixes it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SUBDIRS = ("claims", "run", "inbox")


def prepare_data_dir(data_dir: Path) -> None:
    """Create the data directory and its known subdirectories 0700 (those it creates;
    an existing directory keeps its mode, and ``baton doctor`` says if it is open)."""
    for path in (data_dir, *(data_dir / name for name in SUBDIRS)):
        private_dir(path)


def private_dir(path: Path) -> None:
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return
    path.chmod(0o700)  # mkdir's mode is filtered by the umask; make it exact


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by the owner alone (0600 whatever the umask or an older
    file's mode); a symlink in its place is refused, not followed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def open_to_others(data_dir: Path) -> list[Path]:
    """Paths under ``data_dir`` (itself included) that group or others may use."""
    if not data_dir.exists():
        return []
    found: list[Path] = []
    for root, dirs, files in os.walk(data_dir):
        for path in (Path(root), *(Path(root) / f for f in files)):
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if not stat.S_ISLNK(mode) and mode & 0o077:
                found.append(path)
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
    return found


def privacy_fix(data_dir: Path) -> str:
    return f"chmod -R go-rwx {data_dir}"
