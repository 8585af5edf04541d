"""Appends from several processes at once leave only whole lines, and readers keep up.

Real processes, not threads: the CLI and the bot are separate programs, and the lock
(``history.jsonl.lock``) and ``O_APPEND`` are what keep them from mangling each other.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

from session_core.history_index import HistoryIndex
from session_core.history_lines import read_claude_history
from session_core.history_writer import append_history_entry

WRITER = """
import sys, time
from pathlib import Path
from session_core.history_writer import append_history_entry

path, tag, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
Path(f"{go}.{tag}.ready").touch()  # imports done: a test may start everyone at once
while not go.exists():
    time.sleep(0.001)
for i in range(count):
    # Every 50th line is 10 KB: well past PIPE_BUF, so only the lock keeps it whole.
    filler = "x" * (10_000 if i % 50 == 0 else i % 200)
    append_history_entry(
        path, display=f"{tag} {i} {filler}\\nsecond line", project="/w/" + tag,
        session_id=f"{tag}-session-{i % 7}", timestamp_ms=i,
    )
"""

PER_WRITER = 2000


def _start_writer(path: Path, tag: str, go: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), tag, str(PER_WRITER), str(go)],
        cwd=Path(__file__).resolve().parent.parent,
    )


def test_two_processes_append_thousands_of_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    go = tmp_path / "go"
    writers = [_start_writer(path, tag, go) for tag in ("alpha", "beta")]
    index = HistoryIndex(path)
    observed_skips = 0
    try:
        go.touch()
        deadline = time.monotonic() + 100
        while any(w.poll() is None for w in writers) and time.monotonic() < deadline:
            index.refresh()  # a reader racing the writers must never see a bad line
            observed_skips = max(observed_skips, index.stats.skipped)
            time.sleep(0.005)
        assert all(w.wait(timeout=10) == 0 for w in writers)
    finally:
        for writer in writers:
            writer.kill()
    assert observed_skips == 0

    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.split(b"\n")[:-1]
    assert len(lines) == 2 * PER_WRITER
    seen: dict[str, list[int]] = {"alpha": [], "beta": []}
    order: list[str] = []
    for line in lines:
        entry = json.loads(line)  # every line is whole, parseable JSON
        tag, number, _ = entry["display"].split(" ", 2)
        seen[tag].append(int(number))
        order.append(tag)
    assert seen == {"alpha": list(range(PER_WRITER)), "beta": list(range(PER_WRITER))}
    # The writers really overlapped (otherwise this test would prove nothing).
    assert sum(1 for a, b in pairwise(order) if a != b) > 20

    index.refresh()
    assert (index.stats.lines, index.stats.skipped, index.stats.entries) == (
        2 * PER_WRITER,
        0,
        2 * PER_WRITER,
    )
    assert index.stats.rebuilds == 0
    assert len(read_claude_history(path)) == 2 * PER_WRITER
    assert not (tmp_path / "history.jsonl.lock").exists()


HOLDER = """
import os, sys, time
lock = sys.argv[1]
os.mkdir(lock)
print("held", flush=True)
time.sleep(0.4)
os.rmdir(lock)
"""


def test_append_waits_for_another_process_holding_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "history.jsonl.lock")],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"
        started = time.monotonic()
        append_history_entry(path, display="after", project=tmp_path, session_id="s1")
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=10)
    assert waited >= 0.2
    assert [e.display for e in read_claude_history(path)] == ["after"]


# Appends the way the CLI 2.1.330 does (reference/claude-code-offline.md §17): the
# ``history.jsonl.lock`` directory taken with mkdir, one ``write`` on an O_APPEND fd.
CLI_STYLE = """
import json, os, sys, time
path, count, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = path + ".lock"
open(go + ".cli.ready", "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
for i in range(count):
    line = json.dumps({"display": f"cli {i} " + "c" * (i % 300), "pastedContents": {},
        "timestamp": i, "project": "/w/cli", "sessionId": "cli-session"},
        separators=(",", ":")).encode() + b"\\n"
    while True:
        try:
            os.mkdir(lock)
            break
        except FileExistsError:
            time.sleep(0.001)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, line)
        os.close(fd)
    finally:
        os.rmdir(lock)
"""

INTERLEAVED = 500


def test_cli_style_writer_and_the_bot_interleave_1000_whole_lines(tmp_path: Path) -> None:
    """A separate process appending exactly as the CLI does (its lock, one write), not the
    real CLI: driving the TUI 500 times would take many minutes. The real TUI is exercised
    below with a smaller count."""
    path = tmp_path / "history.jsonl"
    go = tmp_path / "go"
    cli = subprocess.Popen(
        [sys.executable, "-c", CLI_STYLE, str(path), str(INTERLEAVED), str(go)],
        cwd=Path(__file__).resolve().parent.parent,
    )
    bot = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "bot", str(INTERLEAVED), str(go)],
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        # Start both at once only when both are ready: the bot's writer imports the
        # package first, and on a busy machine the CLI-style one would be done by then.
        deadline = time.monotonic() + 60
        while not all(Path(f"{go}.{tag}.ready").exists() for tag in ("cli", "bot")):
            assert time.monotonic() < deadline, "the writers never got ready"
            time.sleep(0.01)
        go.touch()
        assert cli.wait(timeout=100) == 0
        assert bot.wait(timeout=100) == 0
    finally:
        cli.kill()
        bot.kill()
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    whole = [json.loads(line) for line in lines[:-1]]  # no torn or merged line
    cli_numbers = [int(e["display"].split()[1]) for e in whole if e["project"] == "/w/cli"]
    bot_numbers = [int(e["display"].split()[1]) for e in whole if e["project"] == "/w/bot"]
    assert cli_numbers == list(range(INTERLEAVED))
    assert bot_numbers == list(range(INTERLEAVED))
    order = [e["project"] for e in whole]
    assert sum(1 for a, b in pairwise(order) if a != b) > 20  # they really interleaved
