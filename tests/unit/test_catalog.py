"""The catalog: what a picker offers, and what it refuses to offer for resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from session_core.catalog import AmbiguousSession, SessionCatalog, UnknownSession
from session_core.claude_home import ClaudeHome, project_key
from session_core.history_index import HistoryIndex
from session_core.history_writer import append_history_entry
from session_core.liveness import pid_alive

OLD = "aaaaaaaa-1111-4000-8000-000000000001"
PRUNED = "aaaaaaaa-2222-4000-8000-000000000002"
ELSEWHERE = "bbbbbbbb-3333-4000-8000-000000000003"
PRINT_ONLY = "cccccccc-4444-4000-8000-000000000004"


@pytest.fixture
def home(tmp_path: Path) -> ClaudeHome:
    return ClaudeHome(tmp_path / "claude")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "work" / "proj"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def other(tmp_path: Path) -> Path:
    path = tmp_path / "work" / "other"
    path.mkdir(parents=True)
    return path


def transcript(home: ClaudeHome, directory: Path, session_id: str, *texts: str) -> Path:
    path = home.projects_dir / project_key(directory) / f"{session_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, text in enumerate(texts):
        role = "user" if i % 2 == 0 else "assistant"
        content = text if role == "user" else [{"type": "text", "text": text}]
        message = {"role": role, "content": content, "id": f"msg_{i}"}
        lines.append(
            {"type": role, "message": message, "cwd": str(directory), "sessionId": session_id}
        )
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.fixture
def world(home: ClaudeHome, project: Path, other: Path) -> ClaudeHome:
    """Three sessions in history; the newest in ``project`` lost its transcript."""
    history = home.history_path
    append_history_entry(
        history, display="old work", project=project, session_id=OLD, timestamp_ms=1_000
    )
    append_history_entry(
        history, display="/exit", project=project, session_id=OLD, timestamp_ms=2_000
    )
    append_history_entry(
        history, display="elsewhere", project=other, session_id=ELSEWHERE, timestamp_ms=3_000
    )
    append_history_entry(
        history, display="pruned one", project=project, session_id=PRUNED, timestamp_ms=4_000
    )
    transcript(home, project, OLD, "old work", "did it")
    transcript(home, other, ELSEWHERE, "elsewhere", "ok")
    return home


def test_list_is_newest_first_with_transcript_flags(world: ClaudeHome, project: Path) -> None:
    catalog = SessionCatalog(world)
    listed = catalog.list()
    assert [s.session_id for s in listed] == [PRUNED, ELSEWHERE, OLD]
    assert [s.has_transcript for s in listed] == [False, True, True]
    old = listed[2]
    assert (old.project, old.first_prompt, old.last_prompt) == (
        str(project),
        "old work",
        "old work",
    )
    assert old.prompt_count == 2
    assert old.last_activity == datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC)
    assert old.live is None
    assert [s.session_id for s in catalog.list(directory=project)] == [PRUNED, OLD]
    assert [s.session_id for s in catalog.list(limit=1)] == [PRUNED]
    assert catalog.list(directory="/nowhere") == []


def test_newest_resumable_skips_pruned_sessions(world: ClaudeHome, project: Path) -> None:
    cold = SessionCatalog(world)  # answers without a full index build
    found = cold.newest_resumable(project)
    assert found is not None and found.session_id == OLD and found.has_transcript
    assert found.prompt_count == 2
    built = SessionCatalog(world)
    built.list()
    assert built.newest_resumable(project) == found
    assert built.newest_resumable(project.parent) is None


def test_newest_resumable_with_nothing_resumable(home: ClaudeHome, project: Path) -> None:
    append_history_entry(home.history_path, display="x", project=project, session_id=PRUNED)
    assert SessionCatalog(home).newest_resumable(project) is None
    assert SessionCatalog(ClaudeHome(home.config_dir / "none")).newest_resumable(project) is None


def test_resolve_by_id_and_prefix(world: ClaudeHome) -> None:
    catalog = SessionCatalog(world)
    assert catalog.resolve(OLD).session_id == OLD
    assert catalog.resolve("bbbb").session_id == ELSEWHERE
    assert catalog.resolve("  BBBB ").session_id == ELSEWHERE
    with pytest.raises(AmbiguousSession) as ambiguous:
        catalog.resolve("aaaa")
    assert ambiguous.value.candidates == (PRUNED, OLD)
    assert "aaaaaaaa" in str(ambiguous.value)
    for unknown in ("ffff", "", "   ", "../../etc"):
        with pytest.raises(UnknownSession):
            catalog.resolve(unknown)
    assert issubclass(UnknownSession, ValueError) and issubclass(AmbiguousSession, ValueError)


def test_a_session_with_a_transcript_but_no_history_line(world: ClaudeHome, other: Path) -> None:
    # `claude -p` and SDK runs write no history line; their full id still resolves.
    transcript(world, other, PRINT_ONLY, "printed prompt", "printed answer")
    catalog = SessionCatalog(world)
    found = catalog.resolve(PRINT_ONLY)
    assert (found.project, found.has_transcript) == (str(other), True)
    assert found.last_prompt == "printed prompt"
    assert catalog.get(PRINT_ONLY) == found
    with pytest.raises(UnknownSession):
        catalog.resolve(PRINT_ONLY[:8])  # prefixes only search history


def test_preview(world: ClaudeHome) -> None:
    catalog = SessionCatalog(world)
    assert [(m.role, m.text) for m in catalog.preview(OLD)] == [
        ("user", "old work"),
        ("assistant", "did it"),
    ]
    assert catalog.preview(PRUNED) == []
    assert catalog.preview("../../x") == []


@pytest.fixture
def terminal_pid() -> Iterator[int]:
    """A process that is not our descendant, like a terminal's ``claude``."""
    started = subprocess.run(
        [
            "sh",
            "-c",
            f"{sys.executable} -c 'import time; time.sleep(60)' >/dev/null 2>&1 & echo $!",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    pid = int(started.stdout.strip())
    try:
        yield pid
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def register(home: ClaudeHome, pid: int, session_id: str, entrypoint: str) -> None:
    home.sessions_dir.mkdir(parents=True, exist_ok=True)
    entry = {"pid": pid, "sessionId": session_id, "cwd": "/", "startedAt": 1, "kind": "x"}
    entry["entrypoint"] = entrypoint
    (home.sessions_dir / f"{pid}.json").write_text(json.dumps(entry))


def test_live_means_held_by_someone_else(world: ClaudeHome, terminal_pid: int) -> None:
    register(world, terminal_pid, OLD, "cli")
    own_child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        register(world, own_child.pid, ELSEWHERE, "cli")  # our own turn's CLI
        register(world, os.getpid(), PRUNED, "claude-baton")  # our entrypoint
        live = {s.session_id: s.live for s in SessionCatalog(world).list()}
        held = live[OLD]
        assert held is not None and held.pid == terminal_pid
        assert live[ELSEWHERE] is None
        assert live[PRUNED] is None
        unfiltered = SessionCatalog(world, own_entrypoint="other").get(PRUNED)
        assert unfiltered is not None and unfiltered.live is not None
    finally:
        own_child.kill()
        own_child.wait(timeout=10)


def test_catalog_shares_the_given_index(world: ClaudeHome, project: Path) -> None:
    index = HistoryIndex(world.history_path)
    catalog = SessionCatalog(world, index=index)
    catalog.list()
    append_history_entry(world.history_path, display="new", project=project, session_id=OLD)
    assert catalog.list()[0].session_id == OLD
    assert index.stats.rebuilds == 0


def test_transcript_found_where_the_session_started(
    home: ClaudeHome, project: Path, other: Path
) -> None:
    # Started in `other`, then continued from `project`: the transcript stays in the
    # folder of the directory it started in, which the listing must still find.
    append_history_entry(home.history_path, display="a", project=other, session_id=OLD)
    append_history_entry(home.history_path, display="b", project=project, session_id=OLD)
    transcript(home, other, OLD, "a", "ok")
    listed = SessionCatalog(home).list(directory=project)
    assert [(s.session_id, s.project, s.has_transcript) for s in listed] == [
        (OLD, str(project), True)
    ]
    resumable = SessionCatalog(home).newest_resumable(project)
    assert resumable is not None and resumable.session_id == OLD


def test_a_long_listing(home: ClaudeHome, project: Path) -> None:
    ids = [f"dddddddd-0000-4000-8000-{i:012d}" for i in range(60)]
    for i, session_id in enumerate(ids):
        append_history_entry(
            home.history_path, display=f"p{i}", project=project, session_id=session_id
        )
        if i % 3 == 0:
            transcript(home, project, session_id, f"p{i}")
    listed = SessionCatalog(home).list()
    assert [s.session_id for s in listed] == ids[::-1]
    assert [s.has_transcript for s in listed] == [i % 3 == 0 for i in range(60)][::-1]
    page = SessionCatalog(home).list(limit=5)
    assert [(s.session_id, s.has_transcript) for s in page] == [
        (s.session_id, s.has_transcript) for s in listed[:5]
    ]
