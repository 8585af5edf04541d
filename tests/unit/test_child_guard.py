"""Start-up reaping: only our entrypoint, only our config dir, only when its bot is gone.

Real processes (``sleep``) stand in for Claude CLIs: what is checked is their
environment and parentage, exactly what ``find_orphans`` reads from /proc.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from session_core.child_guard import (
    PARENT_PID_ENV,
    PARENT_START_ENV,
    guarded_cli_path,
    parent_env,
    reap_orphans,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")


def dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


@pytest.fixture
def started() -> Iterator[list[int]]:
    pids: list[int] = []
    yield pids
    for pid in pids:  # whatever a failing test left: only what this test started
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)


def sleeper(env: dict[str, str], started: list[int], *, detach: bool = False) -> int:
    """A process with ``env``; ``detach``: its parent exits at once (as a bot's would)."""
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    if detach:
        out = subprocess.run(
            ["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"],
            env=full,
            capture_output=True,
            text=True,
            check=True,
        )
        pid = int(out.stdout)
    else:
        pid = subprocess.Popen(["sleep", "300"], env=full).pid
    started.append(pid)
    return pid


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_reaps_our_orphans_and_nothing_else(tmp_path: Path, started: list[int]) -> None:
    config = tmp_path / "claude"
    ours = {"CLAUDE_CODE_ENTRYPOINT": "claude-baton", "CLAUDE_CONFIG_DIR": str(config)}
    gone = {PARENT_PID_ENV: str(dead_pid()), PARENT_START_ENV: "1.0"}
    orphan = sleeper({**ours, **gone}, started)
    reused_pid = sleeper(
        {**ours, PARENT_PID_ENV: str(os.getpid()), PARENT_START_ENV: "1.0"}, started
    )
    live_bot_child = sleeper({**ours, **parent_env()}, started)
    terminal = sleeper(
        {"CLAUDE_CODE_ENTRYPOINT": "cli", "CLAUDE_CONFIG_DIR": str(config)}, started, detach=True
    )
    other_config = sleeper({**ours, "CLAUDE_CONFIG_DIR": str(tmp_path / "other"), **gone}, started)
    legacy = sleeper(ours, started, detach=True)  # no parent env: an older bot's child
    time.sleep(0.2)

    reaped = reap_orphans("claude-baton", config, grace_s=3.0)

    expected = {orphan, reused_pid}
    if psutil.Process(legacy).ppid() == 1:  # a subreaper may adopt it instead of init
        expected.add(legacy)
    assert set(reaped) == expected
    time.sleep(0.1)
    assert not alive(orphan) and not alive(reused_pid)
    assert alive(live_bot_child) and alive(terminal) and alive(other_config)


@pytest.mark.parametrize("use_setpriv", [True, False], ids=["setpriv", "python"])
def test_the_launcher_arms_the_parent_death_signal(
    tmp_path: Path, started: list[int], use_setpriv: bool
) -> None:
    """A launcher started by a process that is then SIGKILLed gets SIGTERM itself."""
    launcher = guarded_cli_path(
        Path("/bin/sleep"), directory=tmp_path / "launch", use_setpriv=use_setpriv
    )
    assert launcher is not None
    assert (tmp_path / "launch").stat().st_mode & 0o777 == 0o700
    middle = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time\n"
            f"p = subprocess.Popen([{str(launcher)!r}, '300'],"
            f" env={{**os.environ, {PARENT_PID_ENV!r}: str(os.getpid())}})\n"
            "print(p.pid, flush=True)\ntime.sleep(300)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    started.append(middle.pid)
    assert middle.stdout is not None
    child = int(middle.stdout.readline())
    started.append(child)
    time.sleep(0.5)
    assert psutil.Process(child).cmdline()[0] == "/bin/sleep"  # exec'd, same pid
    middle.kill()
    middle.wait()
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)
