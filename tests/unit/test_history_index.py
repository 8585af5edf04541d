"""HistoryIndex: grouping, incremental reads, rebuilds, and the backwards newest lookup."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_core.history_index import HistoryIndex
from session_core.history_lines import SessionRecord, read_claude_history
from tests.fakes.claude_cli import history_line as line

A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"
C = "cccccccc-0000-4000-8000-000000000003"


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "history.jsonl"


def test_sessions_are_grouped_newest_first(path: Path) -> None:
    path.write_bytes(
        line("/clear", 1, "/w/one", A)
        + line("fix the parser", 2, "/w/one", A)
        + line("old style, no session", 3, "/w/one", None)
        + line("/exit", 4, "/w/two", B)
        + line("add tests", 5, "/w/one", A)
        + line("/exit", 6, "/w/one", A)
        + line("/model opus", 7, "/w/two", B)
        + line("only here", 8, "/w/three", C)
    )
    index = HistoryIndex(path)
    sessions = index.sessions()
    assert [s.session_id for s in sessions] == [C, B, A]
    assert sessions[2] == SessionRecord(
        session_id=A,
        project="/w/one",
        first_prompt="fix the parser",  # /clear skipped: there is a better one
        last_prompt="add tests",  # /exit skipped
        first_timestamp_ms=1,
        last_timestamp_ms=6,
        prompt_count=4,  # every line counts, commands included
    )
    # Nothing but commands: they are all there is, so they are shown.
    assert (sessions[1].first_prompt, sessions[1].last_prompt) == ("/exit", "/model opus")
    assert index.session(A) == sessions[2]
    assert index.session("missing") is None
    assert [s.session_id for s in index.sessions("/w/one")] == [A]
    assert index.stats.sessions == 3
    assert index.stats.projects == 3
    assert index.stats.entries == 8


def test_a_session_used_in_two_directories(path: Path) -> None:
    path.write_bytes(
        line("start", 1, "/w/one", A)
        + line("other", 2, "/w/one", B)
        + line("moved on", 3, "/w/two", A)
    )
    index = HistoryIndex(path)
    assert index.newest_session_for("/w/one") == B
    assert [s.session_id for s in index.sessions("/w/one")] == [B, A]
    assert [s.session_id for s in index.sessions("/w/two")] == [A]
    assert index.session(A) is not None
    assert index.session(A).project == "/w/two"  # type: ignore[union-attr]


def test_only_appended_bytes_are_read(path: Path) -> None:
    path.write_bytes(line("one", 1, "/w/p", A))
    index = HistoryIndex(path)
    index.refresh()
    assert (index.stats.lines, index.stats.rebuilds) == (1, 0)
    append(path, line("two", 2, "/w/p", B) + line("three", 3, "/w/p", A))
    assert index.newest_session_for("/w/p") == A
    assert index.stats.lines == 3
    assert index.stats.rebuilds == 0
    assert index.stats.offset == path.stat().st_size
    assert index.session(A).prompt_count == 2  # type: ignore[union-attr]


def test_a_partial_line_is_left_until_its_newline_arrives(path: Path) -> None:
    full = line("written in two parts", 2, "/w/p", B)
    path.write_bytes(line("one", 1, "/w/p", A) + full[:25])
    index = HistoryIndex(path)
    assert index.newest_session_for("/w/p") == A
    index.refresh()
    assert (index.stats.lines, index.stats.skipped) == (1, 0)
    append(path, full[25:])
    assert index.newest_session_for("/w/p") == B
    assert (index.stats.lines, index.stats.skipped) == (2, 0)
    assert index.session(B).first_prompt == "written in two parts"  # type: ignore[union-attr]


def test_shrunk_file_is_rebuilt(path: Path) -> None:
    path.write_bytes(line("one", 1, "/w/p", A) + line("two", 2, "/w/p", B))
    index = HistoryIndex(path)
    index.refresh()
    path.write_bytes(line("one", 1, "/w/p", A))
    assert index.newest_session_for("/w/p") == A
    assert index.stats.rebuilds == 1
    assert index.stats.lines == 1


def test_replaced_file_is_rebuilt(path: Path) -> None:
    path.write_bytes(line("one", 1, "/w/p", A))
    index = HistoryIndex(path)
    index.refresh()
    replacement = path.with_name("new.jsonl")
    replacement.write_bytes(line("pruned and rewritten", 5, "/w/p", C) + line("x", 6, "/w/q", B))
    os.replace(replacement, path)
    assert [s.session_id for s in index.sessions()] == [B, C]
    assert index.stats.rebuilds == 1


def test_rewritten_in_place_and_grown_is_rebuilt(path: Path) -> None:
    # Same inode, bigger than before, but the bytes we already read changed: a prune
    # that truncated and rewrote, then an append. Only the content can tell.
    path.write_bytes(line("one", 1, "/w/p", A))
    index = HistoryIndex(path)
    index.refresh()
    with path.open("r+b") as handle:
        handle.truncate(0)
        handle.write(line("ONE", 1, "/w/p", C) + line("two", 2, "/w/q", B))
    assert [s.session_id for s in index.sessions()] == [B, C]
    assert index.stats.rebuilds == 1


def test_rewritten_in_place_same_size_is_rebuilt(path: Path) -> None:
    path.write_bytes(line("one", 1, "/w/p", A))
    index = HistoryIndex(path)
    index.refresh()
    path.write_bytes(line("one", 1, "/w/p", C))  # same length, different session
    assert index.newest_session_for("/w/p") == C
    assert index.stats.rebuilds == 1


def test_deleted_then_recreated(path: Path) -> None:
    path.write_bytes(line("one", 1, "/w/p", A))
    index = HistoryIndex(path)
    index.refresh()
    path.unlink()
    assert index.sessions() == []
    assert index.newest_session_for("/w/p") is None
    path.write_bytes(line("again", 2, "/w/p", B))
    assert index.newest_session_for("/w/p") == B


def test_newest_for_a_symlinked_directory(tmp_path: Path, path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    path.write_bytes(line("x", 1, str(real), A) + line("y", 2, str(real) + "/", B))
    assert HistoryIndex(path).newest_session_for(tmp_path / "link") == B


def test_newest_for_a_prefix_sibling_is_not_confused(path: Path) -> None:
    path.write_bytes(
        line("x", 1, "/w/p", A)
        + line("/w/p is mentioned", 2, "/w/pp", B)
        + line("y", 3, "/w/p2", C)
    )
    index = HistoryIndex(path)
    assert index.newest_session_for("/w/p") == A
    assert index.newest_session_for("/w/pp") == B


def test_newest_with_non_ascii_and_escaped_projects(path: Path) -> None:
    ascii_escaped = json.dumps(
        {"display": "x", "pastedContents": {}, "timestamp": 2, "project": "/w/ünï", "sessionId": B}
    ).encode()
    path.write_bytes(line("a", 1, "/w/ünï", A) + ascii_escaped + b"\n" + line("q", 3, '/w/"q"', C))
    assert HistoryIndex(path).newest_session_for("/w/ünï") == B
    assert HistoryIndex(path).newest_session_for('/w/"q"') == C


def test_warm_cold_lookup_follows_appends_and_rewrites(path: Path) -> None:
    path.write_bytes(line("a", 1, "/w/p", A) + line("b", 2, "/w/q", B))
    index = HistoryIndex(path)  # never fully built in this test
    assert index.newest_session_for("/w/p") == A
    assert index.newest_session_for("/w/none") is None
    append(path, line("c", 3, "/w/p", C) + line("d", 4, "/w/none", B))
    assert index.newest_session_for("/w/p") == C
    assert index.newest_session_for("/w/none") == B
    append(path, line("e", 5, "/w/q", A))
    assert index.newest_session_for("/w/p") == C
    path.write_bytes(line("rewritten", 9, "/w/p", B))
    assert index.newest_session_for("/w/p") == B
    assert index.newest_session_for("/w/none") is None


def test_cold_session_lookup_equals_built(path: Path) -> None:
    path.write_bytes(
        line("/clear", 1, "/w/p", A)
        + line(f"mentions {A} in text", 2, "/w/p", B)
        + line("real", 3, "/w/q", A)
        + b"garbage "
        + A.encode()
        + b"\n"
        # The id twice on one line (a pasted id, then the sessionId): counted once.
        + json.dumps(
            {
                "display": "p",
                "pastedContents": {"1": {"content": A}},
                "timestamp": 4,
                "project": "/w/q",
                "sessionId": A,
            }
        ).encode()
        + b"\n"
    )
    cold = HistoryIndex(path).session(A)
    built = HistoryIndex(path)
    built.refresh()
    assert cold == built.session(A)
    assert cold is not None and cold.prompt_count == 3
    assert HistoryIndex(path).session("dddddddd-0000-4000-8000-000000000004") is None


def test_recent_session_ids_cold_and_built(path: Path) -> None:
    path.write_bytes(
        line("1", 1, "/w/p", A)
        + line("2", 2, "/w/p", B)
        + line("3", 3, "/w/p", A)
        + line("4", 4, "/w/q", C)
    )
    cold = list(HistoryIndex(path).recent_session_ids("/w/p"))
    built = HistoryIndex(path)
    built.refresh()
    assert cold == list(built.recent_session_ids("/w/p")) == [A, B]


# --------------------------------------------------------------------------- properties

PROJECTS = ["/w/p", "/w/p2", "/w/ü", "/x"]
BROKEN = [b"\n", b"{\n", b"\xff\n", b"[]\n", b'{"display":1}\n']
SESSIONS = [A, B, C, None]


@st.composite
def history_lines(draw: st.DrawFn) -> list[bytes]:
    """A file's worth of lines: mostly valid, some broken, some long."""
    kinds = st.sampled_from(["valid", "valid", "valid", "valid", "broken", "long"])
    out: list[bytes] = []
    for i in range(draw(st.integers(0, 60))):
        kind = draw(kinds)
        project = draw(st.sampled_from(PROJECTS))
        session = draw(st.sampled_from(SESSIONS))
        if kind == "broken":
            out.append(
                draw(st.sampled_from([b"\n", b"{\n", b"\xff\n", b"[]\n", b'{"display":1}\n']))
            )
        else:
            size = draw(st.integers(100, 400)) if kind == "long" else draw(st.integers(0, 12))
            out.append(line("w" * size + "/exit" * (i % 3 == 0), i, project, session))
    return out


def naive_sessions(data: bytes) -> dict[str, int]:
    """Reference: per-session line counts the simple way."""
    counts: dict[str, int] = {}
    for raw in data.split(b"\n")[:-1]:
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("sessionId"), str)
            and isinstance(entry.get("display"), str)
            and type(entry.get("timestamp")) is int
        ):
            counts[entry["sessionId"]] = counts.get(entry["sessionId"], 0) + 1
    return counts


def naive_newest(data: bytes, project: str) -> str | None:
    found = None
    for raw in data.split(b"\n")[:-1]:
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if (
            isinstance(entry, dict)
            and entry.get("project") == project
            and isinstance(entry.get("display"), str)
            and entry.get("sessionId")
        ):
            found = entry["sessionId"]
    return found


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(lines=history_lines(), cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_incremental_equals_at_once(
    tmp_path_factory: pytest.TempPathFactory,
    small_blocks: None,
    lines: list[bytes],
    cuts: list[int],
) -> None:
    data = b"".join(lines)
    folder = tmp_path_factory.mktemp("inc")
    whole = folder / "whole.jsonl"
    whole.write_bytes(data)
    at_once = HistoryIndex(whole)
    at_once.refresh()

    growing = folder / "growing.jsonl"
    growing.write_bytes(b"")
    incremental = HistoryIndex(growing)
    previous = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        append(growing, data[previous:cut])
        previous = cut
        incremental.refresh()
    assert incremental.sessions() == at_once.sessions()
    same = ("lines", "entries", "skipped", "sessions", "projects", "offset")
    assert {k: getattr(incremental.stats, k) for k in same} == {
        k: getattr(at_once.stats, k) for k in same
    }
    assert incremental.stats.rebuilds == 0
    broken = sum(
        1 for raw in lines if raw.startswith((b"\n", b"{\n", b"\xff", b"[]", b'{"display":1'))
    )
    huge = sum(1 for raw in lines if len(raw) - 1 > 300)
    assert at_once.stats.skipped == broken + huge
    expected_counts = {
        sid: n for sid, n in naive_sessions(b"".join(r for r in lines if len(r) - 1 <= 300)).items()
    }
    assert {s.session_id: s.prompt_count for s in at_once.sessions()} == expected_counts
    assert len(read_claude_history(whole)) == at_once.stats.entries


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(lines=history_lines(), project=st.sampled_from([*PROJECTS, "/nowhere"]))
def test_backwards_newest_equals_naive(
    tmp_path_factory: pytest.TempPathFactory,
    small_blocks: None,
    lines: list[bytes],
    project: str,
) -> None:
    data = b"".join(lines)
    path = tmp_path_factory.mktemp("back") / "history.jsonl"
    path.write_bytes(data)
    expected = naive_newest(b"".join(r for r in lines if len(r) - 1 <= 300), project)
    assert HistoryIndex(path).newest_session_for(project) == expected
    built = HistoryIndex(path)
    built.refresh()
    assert built.newest_session_for(project) == expected
    assert list(HistoryIndex(path).recent_session_ids(project)) == list(
        built.recent_session_ids(project)
    )
    for session_id in (A, B, C):  # the cold byte search agrees with the full parse
        assert HistoryIndex(path).session(session_id) == built.session(session_id)
