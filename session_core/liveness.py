"""Which sessions are open in a running ``claude`` process right now.

Every ``claude`` process (terminal UI, ``claude -p``, SDK turns, the bot's own turns)
registers ``<config>/sessions/<pid>.json`` while it runs and deletes it on exit. A killed
process leaves its file behind, and its pid may later belong to something else, so a file
only counts when its pid is alive and (where the CLI recorded it) started when the file
says it did.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

_MAX_REGISTRY_FILE = 64 << 10


@dataclass(frozen=True)
class LiveProcess:
    """One running ``claude`` process and the session it holds.

    ``entrypoint`` says who started it: ``cli`` (the terminal UI), ``sdk-cli``
    (``claude -p``), ``sdk-py`` or whatever ``CLAUDE_CODE_ENTRYPOINT`` was set to.
    """

    pid: int
    session_id: str
    cwd: str
    started_at_ms: int
    entrypoint: str
    kind: str


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (even one we may not signal)."""
    if pid <= 0:  # 0 and negatives address process groups, never one process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _proc_start(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), as the CLI records it."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split(" ")
    return fields[19] if len(fields) > 19 else None


def _same_process(pid: int, recorded_start: object) -> bool:
    """False only when the pid was demonstrably reused by a process started later."""
    if not isinstance(recorded_start, str) or not recorded_start.isdigit():
        return True  # not recorded, or the macOS `ps lstart` form: cannot compare here
    current = _proc_start(pid)
    return current is None or current == recorded_start


def _read_entry(path: Path) -> LiveProcess | None:
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_REGISTRY_FILE + 1)
        if len(raw) > _MAX_REGISTRY_FILE:
            return None
        data = json.loads(raw)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    pid = data.get("pid")
    session_id = data.get("sessionId")
    if type(pid) is not int or not isinstance(session_id, str) or not session_id:
        return None
    if path.stem != str(pid):
        return None
    started = data.get("startedAt")
    cwd = data.get("cwd")
    entrypoint = data.get("entrypoint")
    kind = data.get("kind")
    if not pid_alive(pid) or not _same_process(pid, data.get("procStart")):
        return None
    return LiveProcess(
        pid=pid,
        session_id=session_id,
        cwd=cwd if isinstance(cwd, str) else "",
        started_at_ms=started if type(started) is int else 0,
        entrypoint=entrypoint if isinstance(entrypoint, str) else "",
        kind=kind if isinstance(kind, str) else "",
    )


def read_live_processes(
    sessions_dir: Path,
    *,
    ignore_entrypoints: Collection[str] = frozenset(),
    ignore_pids: Collection[int] = frozenset(),
) -> list[LiveProcess]:
    """Running ``claude`` processes, newest first; stale and malformed files are skipped.

    The caller says what not to count, typically its own turns: their entrypoint
    (``CLAUDE_CODE_ENTRYPOINT``) and the pids of its own child processes.
    """
    try:
        names = os.listdir(sessions_dir)
    except OSError:
        return []
    found: list[LiveProcess] = []
    for name in names:
        stem, dot, suffix = name.partition(".")
        if suffix != "json" or not dot or not stem.isdigit():
            continue  # also skips the <pid>.<hash>.key files beside the entries
        if int(stem) in ignore_pids:
            continue
        entry = _read_entry(sessions_dir / name)
        if entry is None or entry.entrypoint in ignore_entrypoints:
            continue
        found.append(entry)
    found.sort(key=lambda entry: (entry.started_at_ms, entry.pid), reverse=True)
    return found


def descendant_pids() -> frozenset[int]:
    """Pids of every process this one started, directly or not.

    The bot's own turns run ``claude`` children that register like a terminal would;
    these pids let the catalog tell "open in a terminal" from "the bot is using it".
    """
    import psutil  # here: a one-shot `baton sessions` with nobody live never needs it

    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return frozenset()
    return frozenset(child.pid for child in children)
