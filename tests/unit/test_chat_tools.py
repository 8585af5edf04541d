"""send_to_chat's confinement: only regular files inside the session's directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_adapters.file_fetch import complete_files
from session_core.chat_tools import confine
from session_core.roots import OutsideRoots


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("a")
    (root / "top.txt").write_text("t")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("x")
    (tmp_path / "secret.txt").write_text("s")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    (root / "inner-link.txt").symlink_to(root / "top.txt")
    return root


def test_relative_absolute_and_inner_links_are_confined(project: Path) -> None:
    assert confine("src/a.py", project) == project / "src" / "a.py"
    assert confine(str(project / "top.txt"), project) == project / "top.txt"
    assert confine("inner-link.txt", project) == project / "top.txt"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("../secret.txt", "outside"),
        ("link.txt", "outside"),
        ("/etc/passwd", "outside"),
        ("src", "not a regular file"),
        ("missing.txt", "no such file"),
        ("  ", "no path"),
    ],
)
def test_refusals_say_why(project: Path, raw: str, reason: str) -> None:
    with pytest.raises(OutsideRoots, match=reason):
        confine(raw, project)


def test_completion_lists_shallow_files_first_and_skips_git(project: Path) -> None:
    values = [value for _, value in complete_files(project, "")]
    assert values == ["inner-link.txt", "link.txt", "top.txt", "src/a.py"]
    assert [value for _, value in complete_files(project, "A.P")] == ["src/a.py"]
