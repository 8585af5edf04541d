"""Which session a turn goes to, and where it runs, decided before any CLI starts.

An explicit id resumes that session; no id continues the newest session of the
directory that still has a transcript; ``force_new`` starts fresh. A resumed turn runs
in the session's own project directory, wherever the message came from. The roots check
is made again here at turn start, whatever the caller checked before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import structlog

from session_core.catalog import SessionCatalog
from session_core.roots import ApprovedRoots, OutsideRoots

log = structlog.get_logger(__name__)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a turn goes before any CLI has started."""

    session_id: str | None
    """None: a fresh session."""
    cwd: str
    """Where the turn runs: the session's own project directory."""
    workdir: str
    """The caller's directory (realpath), for a fresh session."""


class SessionChoice:
    """Picks a turn's session from the catalog and checks it against the approved roots."""

    def __init__(self, catalog: SessionCatalog, roots: ApprovedRoots | None) -> None:
        self._catalog = catalog
        self._roots = roots
        self._catalog_lock = threading.Lock()

    def resolve(
        self, working_directory: str | os.PathLike[str], session_id: str | None, force_new: bool
    ) -> Target:
        """Pick the session and its directory (blocking: run it in a worker thread)."""
        workdir = os.path.realpath(working_directory)
        if force_new:
            return Target(None, workdir, workdir)
        if session_id:
            # The catalog knows the project from history.jsonl, or else from the transcript.
            project = self._catalog_read(lambda: self._catalog.project_of(session_id))
            cwd = project if project and _is_dir(project) else workdir
            return Target(session_id, cwd, workdir)
        newest = self._catalog_read(lambda: self._catalog.newest_resumable(workdir))
        if newest is None:
            return Target(None, workdir, workdir)
        project = newest.project if _is_dir(newest.project) else workdir
        return Target(newest.session_id, project, workdir)

    def refusal(self, target: Target) -> str | None:
        """Why the turn may not run where it would (None: it may)."""
        if self._roots is None:
            return None
        try:
            self._roots.check(target.cwd)
            self._roots.check(target.workdir)
        except OutsideRoots as exc:
            return str(exc)
        return None

    def approved(self, target: Target) -> Target:
        """The target with the very real paths the roots check approved."""
        if self._roots is None:
            return target
        cwd, workdir = self._roots.check(target.cwd), self._roots.check(target.workdir)
        return replace(target, cwd=str(cwd), workdir=str(workdir))

    def _catalog_read(self, call: Callable[[], _T]) -> _T | None:
        """One catalog read at a time (its index is not thread-safe); never fatal."""
        with self._catalog_lock:
            try:
                return call()
            except Exception as exc:
                log.warning("catalog_read_failed", error=str(exc))
                return None


def _is_dir(path: str | None) -> bool:
    return bool(path) and os.path.isdir(path or "")
