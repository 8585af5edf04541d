"""Claude CLI children die with the bot, and leftovers of a dead bot are reaped.

A SIGKILLed bot (OOM killer, power loss) runs no clean-up, so its ``claude`` children
would go on mid-tool-call with nobody reading them. On Linux each child is started
through a tiny launcher that asks the kernel for ``PR_SET_PDEATHSIG`` (SIGTERM when the
parent dies) and then ``exec``s the real CLI: the SDK's ``anyio.open_process`` takes no
``preexec_fn``, but it runs whatever ``cli_path`` names. The child also carries the
bot's pid and start time, so start-up can tell our orphans (entrypoint ours, that
parent gone) from a person's terminal ``claude``, which is never touched.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import structlog

log = structlog.get_logger(__name__)

PARENT_PID_ENV = "BATON_PARENT_PID"
PARENT_START_ENV = "BATON_PARENT_START"
ENTRYPOINT_ENV = "CLAUDE_CODE_ENTRYPOINT"
CONFIG_DIR_ENV = "CLAUDE_CONFIG_DIR"

_LAUNCHER = """\
#!{python} -IS
# claude-baton: the Claude CLI dies with the bot that started it (PR_SET_PDEATHSIG).
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)
parent = os.environ.get("{parent_env}", "")
if parent.isdigit() and os.getppid() != int(parent):
    sys.exit(143)  # the bot died before the signal was armed
os.execv({cli!r}, [{cli!r}, *sys.argv[1:]])
"""


_SH_LAUNCHER = """\
#!/bin/sh
# claude-baton: the Claude CLI dies with the bot that started it (PR_SET_PDEATHSIG).
exec {setpriv} --pdeathsig TERM -- /bin/sh -c \\
  '[ -z "${parent_env}" ] || [ "$PPID" = "${parent_env}" ] || exit 143; exec "$0" "$@"' \\
  {cli} "$@"
"""


def _launcher_text(cli: Path, use_setpriv: bool) -> str:
    """util-linux ``setpriv`` when it has ``--pdeathsig`` (a few ms), else Python (~50 ms)."""
    setpriv = shutil.which("setpriv") if use_setpriv else None
    if setpriv:
        try:
            usage = subprocess.run(
                [setpriv, "--help"], capture_output=True, text=True, timeout=5, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            usage = ""
        if "--pdeathsig" in usage:
            return _SH_LAUNCHER.format(
                setpriv=shlex.quote(setpriv),
                parent_env=PARENT_PID_ENV,
                cli=shlex.quote(str(cli)),
            )
    return _LAUNCHER.format(python=sys.executable, parent_env=PARENT_PID_ENV, cli=str(cli))


def parent_env() -> dict[str, str]:
    """What each child is given so a later start can tell whether its bot still lives."""
    me = psutil.Process()
    return {PARENT_PID_ENV: str(me.pid), PARENT_START_ENV: f"{me.create_time():.3f}"}


@functools.lru_cache(maxsize=8)
def guarded_cli_path(
    cli: Path, *, directory: Path | None = None, use_setpriv: bool = True
) -> Path | None:
    """A launcher for ``cli`` that arms the parent-death signal; None off Linux.

    Written once per CLI path into a private (0700) directory, atomically, named by
    its content, so concurrent bots share it and an old one is never half-read.
    """
    if not sys.platform.startswith("linux"):
        return None
    text = _launcher_text(cli, use_setpriv)
    where = directory or Path(tempfile.gettempdir()) / f"claude-baton-{os.getuid()}"
    path = where / f"claude-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    try:
        where.mkdir(mode=0o700, exist_ok=True)
        st = where.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            log.warning("child_guard_unsafe_dir", directory=str(where))
            return None
        if not path.exists():
            partial = where / f".{path.name}.{os.getpid()}"
            partial.write_text(text)
            partial.chmod(0o700)
            partial.replace(path)
    except OSError as exc:
        log.warning("child_guard_unavailable", error=str(exc))
        return None
    return path


@dataclass(frozen=True, slots=True)
class Orphan:
    pid: int
    parent_pid: int | None


def find_orphans(entrypoint: str, config_dir: Path) -> Iterator[Orphan]:
    """Our user's processes started as ``entrypoint`` on ``config_dir`` whose bot is gone."""
    uid = os.getuid()
    for process in psutil.process_iter(["pid", "ppid", "uids"]):
        try:
            if process.info["uids"] is None or process.info["uids"].real != uid:
                continue
            env = process.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if env.get(ENTRYPOINT_ENV) != entrypoint or env.get(CONFIG_DIR_ENV) != str(config_dir):
            continue
        parent = env.get(PARENT_PID_ENV, "")
        if parent.isdigit():
            if not _bot_gone(int(parent), env.get(PARENT_START_ENV, "")):
                continue
            yield Orphan(process.pid, int(parent))
        elif process.info["ppid"] == 1:  # from a bot before the launcher: parent is gone
            yield Orphan(process.pid, None)


def _bot_gone(pid: int, start: str) -> bool:
    try:
        created = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
    try:
        return abs(created - float(start)) > 0.01  # the pid was reused
    except ValueError:
        return False


def reap_orphans(entrypoint: str, config_dir: Path, *, grace_s: float = 3.0) -> list[int]:
    """SIGTERM the leftovers of dead bots, SIGKILL what still stands after ``grace_s``."""
    found = [o.pid for o in find_orphans(entrypoint, config_dir)]
    for pid in found:
        log.warning("child_guard_reaping", pid=pid)
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    alive = list(found)
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in alive if psutil.pid_exists(pid) and not _zombie(pid)]
    for pid in alive:
        _signal(pid, signal.SIGKILL)
    return found


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
