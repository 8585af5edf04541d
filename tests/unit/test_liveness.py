"""The live-process registry: only real, running ``claude`` processes count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from session_core.liveness import (
    LiveProcess,
    descendant_pids,
    pid_alive,
    read_live_processes,
)

SID = "0211e2fa-0000-4000-8000-000000000000"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    assert not pid_alive(process.pid)
    return process.pid


def proc_start(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rfind(")") + 2 :].split(" ")[19]


def register(sessions: Path, pid: int, /, **fields: Any) -> Path:
    sessions.mkdir(parents=True, exist_ok=True)
    entry: dict[str, Any] = {
        "pid": pid,
        "sessionId": SID,
        "cwd": "/home/u/work/proj",
        "startedAt": 1795650034803,
        "version": "2.1.330",
        "peerProtocol": 1,
        "kind": "interactive",
        "entrypoint": "cli",
        "name": "proj-c3",
    }
    entry.update(fields)
    path = sessions / f"{pid}.json"
    path.write_text(json.dumps(entry))
    (sessions / f"{pid}.abc123.key").write_text("secret")
    return path


def test_a_running_process_is_live(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    register(tmp_path, sleeper.pid)
    assert read_live_processes(tmp_path) == [
        LiveProcess(
            pid=sleeper.pid,
            session_id=SID,
            cwd="/home/u/work/proj",
            started_at_ms=1795650034803,
            entrypoint="cli",
            kind="interactive",
        )
    ]


def test_stale_and_malformed_entries_are_skipped(
    tmp_path: Path, sleeper: subprocess.Popen[bytes], dead_pid: int
) -> None:
    register(tmp_path, dead_pid)  # the process exited without cleaning up
    (tmp_path / "123.json").write_text("{not json")
    (tmp_path / "124.json").write_text("[]")
    (tmp_path / "125.json").write_bytes(b"\xff\xfe")
    (tmp_path / "notes.json").write_text("{}")
    register(tmp_path, sleeper.pid, pid=str(sleeper.pid))  # pid of the wrong type
    assert read_live_processes(tmp_path) == []
    register(tmp_path, sleeper.pid, sessionId=None)
    assert read_live_processes(tmp_path) == []
    # A file whose name and content disagree is not trusted either.
    register(tmp_path, sleeper.pid)
    (tmp_path / f"{sleeper.pid}.json").rename(tmp_path / "4242.json")
    assert read_live_processes(tmp_path) == []
    register(tmp_path, sleeper.pid)
    assert len(read_live_processes(tmp_path)) == 1  # the control: the same entry, named right


def test_pid_zero_and_negative_never_signal_a_group(tmp_path: Path) -> None:
    register(tmp_path, 0)
    assert not pid_alive(0)
    assert not pid_alive(-1)
    assert read_live_processes(tmp_path) == []


def test_a_reused_pid_is_recognised(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    register(tmp_path, sleeper.pid, procStart="1")
    assert read_live_processes(tmp_path) == []
    register(tmp_path, sleeper.pid, procStart=proc_start(sleeper.pid))
    assert [p.pid for p in read_live_processes(tmp_path)] == [sleeper.pid]


def test_callers_exclude_their_own_processes(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    register(tmp_path, sleeper.pid, entrypoint="claude-baton")
    register(tmp_path, os.getpid(), entrypoint="cli", startedAt=1795650034900)
    everything = read_live_processes(tmp_path)
    assert [p.pid for p in everything] == [os.getpid(), sleeper.pid]  # newest first
    assert [p.pid for p in read_live_processes(tmp_path, ignore_entrypoints={"claude-baton"})] == [
        os.getpid()
    ]
    assert [p.pid for p in read_live_processes(tmp_path, ignore_pids={os.getpid()})] == [
        sleeper.pid
    ]


def test_missing_registry(tmp_path: Path) -> None:
    assert read_live_processes(tmp_path / "none") == []


def test_descendants_include_grandchildren() -> None:
    shell = subprocess.Popen(
        ["sh", "-c", f"{sys.executable} -c 'import time; time.sleep(60)' & wait"]
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = descendant_pids()
            if shell.pid in found and len(found) >= 2:
                break
            time.sleep(0.05)
        assert shell.pid in found
        assert len(found - {shell.pid}) >= 1  # the python grandchild
        assert os.getpid() not in found
    finally:
        for pid in descendant_pids():
            if pid != shell.pid:
                os.kill(pid, 9)
        shell.kill()
        shell.wait(timeout=10)
