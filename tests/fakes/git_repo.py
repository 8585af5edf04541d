"""A real git repository for tests of /diff: made with the git binary, no mocks."""

from __future__ import annotations

import subprocess
from pathlib import Path

IDENTITY = ("-c", "user.name=Test", "-c", "user.email=test@example.invalid")


def git(directory: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *IDENTITY, *args], cwd=directory, capture_output=True, text=True, check=True
    )
    return done.stdout


def make_repo(directory: Path, files: dict[str, str]) -> None:
    """``git init`` in ``directory`` and one commit holding ``files``."""
    git(directory, "init", "-q", "-b", "main")
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(directory, "add", "-A")
    git(directory, "commit", "-q", "-m", "start")
