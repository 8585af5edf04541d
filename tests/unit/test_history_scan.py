"""The directory-scoped scan agrees with the full index, byte search or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_core.history_index import HistoryIndex
from session_core.history_scan import directory_sessions
from tests.fakes.claude_cli import history_line as line

# Each session lives in one directory, as the CLI writes it (E through a trailing slash).
HOMES = {
    "aaaaaaaa-0000-4000-8000-000000000001": "/w/p",
    "bbbbbbbb-0000-4000-8000-000000000002": "/w/p2",
    "cccccccc-0000-4000-8000-000000000003": "/w/ü",
    "dddddddd-0000-4000-8000-000000000004": "/x",
    "eeeeeeee-0000-4000-8000-000000000005": "/w/p/",
    "ffffffff-0000-4000-8000-000000000006": "/w/p",
}
DIRECTORIES = ["/w/p", "/w/p2", "/w/ü", "/x", "/w", "/nowhere"]
DISPLAYS = ["fix it", "/exit", "/model opus", "", "  ", 'see "/w/p" and "/w/ü/x"', "日本語"]
BROKEN = [b"\n", b"{\n", b"\xff\n", b"[]\n", b'{"display":1,"project":"/w/p"}\n']


@st.composite
def noisy_history(draw: st.DrawFn) -> bytes:
    """Mostly valid lines, some broken, some too long, some without a session, a cut tail."""
    kinds = st.sampled_from(["valid"] * 5 + ["broken", "long", "no session", "escaped"])
    out: list[bytes] = []
    for i in range(draw(st.integers(0, 50))):
        kind = draw(kinds)
        session_id = draw(st.sampled_from(sorted(HOMES)))
        display = draw(st.sampled_from(DISPLAYS))
        if kind == "broken":
            out.append(draw(st.sampled_from(BROKEN)))
        elif kind == "long":
            out.append(line("w" * draw(st.integers(250, 400)), i, HOMES[session_id], session_id))
        elif kind == "no session":
            out.append(line(display, i, HOMES[session_id], None))
        elif kind == "escaped":  # an ASCII-escaping writer
            entry = {"display": display, "timestamp": i, "project": HOMES[session_id]}
            out.append(json.dumps({**entry, "sessionId": session_id}).encode() + b"\n")
        else:
            out.append(line(display, i, HOMES[session_id], session_id))
    tail = draw(st.sampled_from([b"", b'{"display":"mid-wri', line("cut", 99, "/w/p", None)[:-1]]))
    return b"".join(out) + tail


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    data=noisy_history(),
    directory=st.sampled_from(DIRECTORIES),
    limit=st.none() | st.integers(1, 4),
)
def test_scoped_answer_equals_the_full_catalog(
    tmp_path_factory: pytest.TempPathFactory,
    small_blocks: None,
    data: bytes,
    directory: str,
    limit: int | None,
) -> None:
    path = tmp_path_factory.mktemp("scan") / "history.jsonl"
    path.write_bytes(data)
    expected = HistoryIndex(path).sessions(directory, limit=limit)
    assert directory_sessions(path, directory, limit=limit) == expected


def test_missing_file_and_zero_limit(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    assert directory_sessions(path, "/w/p") == []
    path.write_bytes(line("hi", 1, "/w/p", "aaaaaaaa-0000-4000-8000-000000000001"))
    assert directory_sessions(path, "/w/p", limit=0) == []
    assert [r.prompt_count for r in directory_sessions(path, "/w/p")] == [1]


def test_a_session_used_in_two_directories_is_summarized_from_this_one(tmp_path: Path) -> None:
    session = "aaaaaaaa-0000-4000-8000-000000000001"
    path = tmp_path / "history.jsonl"
    path.write_bytes(
        line("began elsewhere", 1, "/w/two", session)
        + line("here", 2, "/w/one", session)
        + line("and back", 3, "/w/two", session)
    )
    (record,) = directory_sessions(path, "/w/one")
    assert (record.project, record.first_prompt, record.prompt_count) == ("/w/one", "here", 1)
    assert HistoryIndex(path).sessions("/w/one")[0].project == "/w/two"
