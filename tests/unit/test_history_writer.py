"""Appending to history.jsonl never glues onto a partial line and never leaves torn bytes.

A ``claude`` killed mid-write leaves a last line without its newline; a full disk or a
file-size limit cuts a write short. Either way the next line must stand on its own and
the file must hold only what was there plus whole lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from session_core.history_lines import read_claude_history
from session_core.history_writer import append_history_entry

REPO = Path(__file__).resolve().parents[2]
PARTIAL = b'{"display":"killed mid-wri'
WHOLE = (
    b'{"display":"before","pastedContents":{},"timestamp":1,"project":"/w/p","sessionId":"s0"}\n'
)


def displays(path: Path) -> list[str]:
    """Valid entries oldest first (``read_claude_history`` is newest first)."""
    return [e.display for e in reversed(read_claude_history(path))]


def test_a_partial_last_line_gets_its_newline_and_stays_what_it_was(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(WHOLE + PARTIAL)
    append_history_entry(path, display="from the chat", project="/w/p", session_id="s1")
    raw = path.read_bytes()
    assert raw.startswith(WHOLE + PARTIAL + b"\n")
    lines = raw.split(b"\n")
    assert lines[1] == PARTIAL
    assert json.loads(lines[2])["display"] == "from the chat"
    assert displays(path) == ["before", "from the chat"]
    # The next writer (the CLI, or us again) is unaffected.
    append_history_entry(path, display="next", project="/w/p", session_id="s1")
    assert displays(path) == ["before", "from the chat", "next"]


def test_a_file_of_zero_bytes_gets_no_leading_newline(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"")
    append_history_entry(path, display="first", project="/w/p", session_id="s1")
    raw = path.read_bytes()
    assert raw.startswith(b'{"display":"first"')
    assert raw.count(b"\n") == 1


def test_a_file_ending_in_a_newline_gets_no_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(WHOLE)
    append_history_entry(path, display="second", project="/w/p", session_id="s1")
    assert b"\n\n" not in path.read_bytes()


# A child process with a file-size limit: the write is cut short, then fails with EFBIG.
LIMITED_WRITER = """
import errno, resource, signal, sys
from pathlib import Path
from session_core.history_writer import append_history_entry
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path, limit = Path(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    append_history_entry(path, display="y" * 5000, project="/w/p", session_id="s2")
except OSError as exc:
    print(errno.errorcode[exc.errno])
    sys.exit(3)
"""


@pytest.mark.parametrize("existing", [WHOLE, WHOLE + PARTIAL], ids=["whole", "partial"])
def test_efbig_mid_write_truncates_back_to_where_it_started(
    tmp_path: Path, existing: bytes
) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(existing)
    limit = len(existing) + 100  # room for part of the line, not all of it
    child = subprocess.run(
        [sys.executable, "-c", LIMITED_WRITER, str(path), str(limit)],
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == 3, child.stderr.decode()
    assert child.stdout.strip() == b"EFBIG"
    assert path.read_bytes() == existing  # nothing torn, the partial line as it was
    assert not (tmp_path / "history.jsonl.lock").exists()
    append_history_entry(path, display="after", project="/w/p", session_id="s1")
    assert displays(path) == ["before", "after"]


@contextlib.contextmanager
def tiny_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_enospc_mid_write_truncates_back_to_where_it_started(tmp_path: Path) -> None:
    with tiny_tmpfs(tmp_path / "small", "16k") as disk:
        path = disk / "history.jsonl"
        path.write_bytes(WHOLE + PARTIAL)
        filler = disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        with contextlib.suppress(OSError):
            while True:  # fill the disk to the last page
                os.write(fd, b"z" * 4096)
        os.ftruncate(fd, os.fstat(fd).st_size - 4096)  # one page free: room for part of it
        os.close(fd)
        existing = path.read_bytes()
        with pytest.raises(OSError) as caught:
            append_history_entry(path, display="y" * 20_000, project="/w/p", session_id="s2")
        assert caught.value.errno == 28  # ENOSPC
        assert path.read_bytes() == existing
        assert not (disk / "history.jsonl.lock").exists()
        filler.unlink()
        append_history_entry(path, display="after", project="/w/p", session_id="s1")
        assert displays(path) == ["before", "after"]
