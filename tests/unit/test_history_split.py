"""A build split over processes is exactly a serial build, and survives a lost child."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_core import history_split
from session_core.history_index import HistoryIndex
from tests.fakes.claude_cli import history_line as line
from tests.unit.test_history_scan import DIRECTORIES, noisy_history

A = "aaaaaaaa-0000-4000-8000-000000000001"


def answers(index: HistoryIndex) -> object:
    """Everything the index tells: listings, per directory, newest, counters."""
    return (
        index.sessions(),
        [index.sessions(directory) for directory in DIRECTORIES],
        [index.newest_session_for(directory) for directory in DIRECTORIES],
        index.stats,
    )


def serial(path: Path) -> HistoryIndex:
    index = HistoryIndex(path)
    index.refresh()
    return index


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=noisy_history(), appended=noisy_history(), pieces=st.integers(2, 5))
def test_a_split_build_equals_a_serial_one_and_keeps_up_the_same(
    tmp_path_factory: pytest.TempPathFactory,
    small_blocks: None,
    data: bytes,
    appended: bytes,
    pieces: int,
) -> None:
    path = tmp_path_factory.mktemp("split") / "history.jsonl"
    path.write_bytes(data)
    split = HistoryIndex(path)
    history_split.build(split, pieces=pieces, min_bytes=0)
    assert split.built
    assert answers(split) == answers(serial(path))
    with path.open("ab") as handle:  # the mark it leaves reads on from the right place
        handle.write(appended)
    assert answers(split) == answers(serial(path))


def test_cuts_fall_on_line_starts_and_a_long_last_line_is_one_piece(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"".join(line(f"p{i}", i, "/w/p", A) for i in range(40)) + b"x" * 5000)
    data = path.read_bytes()
    with path.open("rb") as stream:
        cuts = history_split._cuts(stream.fileno(), len(data), 4)
    assert cuts[0] == 0 and all(data[cut - 1 : cut] == b"\n" for cut in cuts[1:])
    assert len(cuts) == 2  # the last 5000 bytes are a single (unfinished) line


def test_a_child_that_dies_is_made_up_for_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"".join(line(f"p{i}", i, f"/w/{i % 3}", A) for i in range(300)))
    real_fork = os.fork

    def fork_then_die() -> int:  # what the OOM killer does to a child
        pid = real_fork()
        if pid == 0:
            os._exit(137)
        return pid

    monkeypatch.setattr(os, "fork", fork_then_die)
    split = HistoryIndex(path)
    history_split.build(split, pieces=3, min_bytes=0)
    assert answers(split) == answers(serial(path))


def test_no_fork_means_a_serial_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"".join(line(f"p{i}", i, "/w/p", A) for i in range(50)))

    def no_fork() -> int:
        raise OSError("fork: resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    split = HistoryIndex(path)
    history_split.build(split, pieces=4, min_bytes=0)
    assert answers(split) == answers(serial(path))


def test_a_missing_file_is_an_empty_built_index(tmp_path: Path) -> None:
    index = HistoryIndex(tmp_path / "history.jsonl")
    history_split.build(index, pieces=4, min_bytes=0)
    assert index.built and index.sessions() == []
