"""send_to_chat's confinement: only regular files inside the session's directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_adapters.file_delivery import ChatFileSink
from chat_adapters.file_fetch import complete_files
from chat_adapters.redaction import Redactor
from chat_adapters.surface import Capabilities
from session_core.chat_tools import FileOffer, confine
from session_core.roots import OutsideRoots
from tests.fakes.memory_surface import MemorySurface

SECRET = "sk-ant-api03-abcdefghijklmnopqrstu"


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
    assert values == ["inner-link.txt", "top.txt", "src/a.py"]  # link.txt leads outside
    assert [value for _, value in complete_files(project, "A.P")] == ["src/a.py"]


async def test_sink_keeps_to_the_apps_limit_and_redacts_text(tmp_path: Path) -> None:
    surface = MemorySurface(
        Capabilities(max_message_length=4096, supports_files=True, max_file_bytes=100)
    )
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x01" * 101)
    with pytest.raises(ValueError, match="up to"):
        await ChatFileSink(surface, Redactor())(FileOffer(big))
    small = tmp_path / "env.txt"
    small.write_text(f"token={SECRET}\n")
    told = await ChatFileSink(surface, Redactor())(FileOffer(small, f"see {SECRET}"))
    assert "as a document" in told
    sent = surface.messages[-1]
    assert sent.file_data is not None and SECRET not in sent.file_data.decode()
    assert SECRET not in sent.display


async def test_sink_refuses_on_a_surface_without_files(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("a")
    surface = MemorySurface(Capabilities(max_message_length=4096))
    with pytest.raises(ValueError, match="cannot receive files"):
        await ChatFileSink(surface, Redactor())(FileOffer(target))
