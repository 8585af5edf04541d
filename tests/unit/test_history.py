"""history.jsonl reading (never fails, counts what it skips) and appending (CLI-exact)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_core.history_index import HistoryIndex
from session_core.history_lines import (
    MAX_LINE_BYTES,
    HistoryEntry,
    filter_by_directory,
    is_slash_command,
    read_claude_history,
)
from session_core.history_writer import HistoryLockTimeout, append_history_entry, history_lock
from tests.fakes.claude_cli import history_line

SID = "3178c6da-b143-48a8-a304-b603e86ae1d1"
OTHER = "0211e2fa-5f3c-4c1e-9d2b-7a1e2c3d4e5f"


def line(
    display: str = "hi",
    *,
    ts: int = 1_795_479_631_587,
    project: str = "/w/p",
    session_id: str | None = SID,
) -> bytes:
    return history_line(display, ts, project, session_id)


# Each of these is one physical line that must be skipped and counted.
BAD_LINES = [
    b"\n",
    b"   \t\n",
    b"not json\n",
    b'{"display":"cut off in the mid\n',
    b'{"display":"bad \xff\xfe utf-8","pastedContents":{},"timestamp":1,"project":"/w/p"}\n',
    b'{"display":["a","list"],"pastedContents":{},"timestamp":1,"project":"/w/p"}\n',
    b'{"display":"ts as text","pastedContents":{},"timestamp":"1795479631587","project":"/w/p"}\n',
    b'{"display":"ts as bool","pastedContents":{},"timestamp":true,"project":"/w/p"}\n',
    b'{"display":"nan ts","pastedContents":{},"timestamp":NaN,"project":"/w/p"}\n',
    b'{"display":"no project","pastedContents":{},"timestamp":1}\n',
    b'{"display":"empty project","pastedContents":{},"timestamp":1,"project":""}\n',
    b'{"display":"num project","pastedContents":{},"timestamp":1,"project":7}\n',
    b'{"display":"sid as number","timestamp":1,"project":"/w/p","sessionId":5}\n',
    b'{"pastedContents":{},"timestamp":1,"project":"/w/p"}\n',
    b"[1,2,3]\n",
    b'"just a string"\n',
    b"null\n",
    b'{"display":"x","timestamp":1,"project":"/w/p"} trailing garbage\n',
    b"[" * 100_000 + b"\n",  # deep nesting: RecursionError inside json
    b'{"display":"' + b"x" * (MAX_LINE_BYTES + 10) + b'","timestamp":1,"project":"/w/p"}\n',
]


def test_missing_file_is_an_empty_history(tmp_path: Path) -> None:
    assert read_claude_history(tmp_path / "nope.jsonl") == []
    index = HistoryIndex(tmp_path / "nope.jsonl")
    assert index.sessions() == []
    assert index.newest_session_for(tmp_path) is None
    assert index.stats.lines == 0


def test_every_kind_of_bad_line_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    good = [line("first"), line("second", ts=2), line("third", session_id=None)]
    path.write_bytes(good[0] + b"".join(BAD_LINES) + good[1] + good[2])

    entries = read_claude_history(path)
    assert [e.display for e in entries] == ["third", "second", "first"]

    index = HistoryIndex(path)
    index.refresh()
    stats = index.stats
    assert stats.skipped == len(BAD_LINES)
    assert stats.lines == len(BAD_LINES) + 3
    assert stats.entries == 3
    assert stats.sessions == 1  # the line without a sessionId is history, not a session
    assert stats.offset == path.stat().st_size


def test_lenient_but_valid_forms_are_read(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(
        b'  {"display":"leading space","pastedContents":{},"timestamp":1,"project":"/w/p"}\n'
        b'{"display":"crlf","pastedContents":{},"timestamp":2,"project":"/w/p"}\r\n'
        b'{"display":"float ts","pastedContents":{},"timestamp":3.0,"project":"/w/p/"}\n'
        b'{"display":"a","timestamp":4,"project":"/w/p"}\r{"display":"b","timestamp":5,"project":"/w/p"}\n'
        b'{"display":"empty sid","timestamp":6,"project":"/w/p","sessionId":""}\n'
        b'{"display":"no pasted","timestamp":7,"project":"/w/p","extra":{"x":[1]}}\n'
    )
    entries = read_claude_history(path)
    assert [(e.display, e.timestamp_ms) for e in reversed(entries)] == [
        ("leading space", 1),
        ("crlf", 2),
        ("float ts", 3),
        ("a", 4),
        ("b", 5),
        ("empty sid", 6),
        ("no pasted", 7),
    ]
    assert {e.project for e in entries} == {"/w/p"}  # trailing slash normalised
    assert all(e.session_id is None for e in entries)


def test_unterminated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(line("done") + line("complete but no newline")[:-1])
    # A one-off read takes a complete last line; the index leaves it for later.
    assert [e.display for e in read_claude_history(path)] == ["complete but no newline", "done"]
    index = HistoryIndex(path)
    index.refresh()
    assert index.stats.lines == 1
    assert index.stats.offset == len(line("done"))


def test_huge_line_at_end_without_newline_is_not_held(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(line("ok") + b'{"display":"' + b"y" * (3 * MAX_LINE_BYTES))
    assert [e.display for e in read_claude_history(path)] == ["ok"]
    index = HistoryIndex(path)
    assert index.newest_session_for("/w/p") == SID
    index.refresh()
    assert (index.stats.lines, index.stats.skipped) == (1, 0)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_parser_never_raises_on_arbitrary_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "history.jsonl"
    path.write_bytes(data + b"\n" + line("valid", project="/w/fuzz"))
    entries = read_claude_history(path)
    assert entries[0].display == "valid"
    index = HistoryIndex(path)
    assert index.newest_session_for("/w/fuzz") == SID
    index.refresh()
    stats = index.stats
    assert stats.lines == data.count(b"\n") + 2
    # Every line is either skipped or gives at least one entry (more when it holds \r).
    assert stats.skipped <= stats.lines <= stats.skipped + stats.entries
    assert stats.entries == len(entries)


def test_filter_by_directory_resolves_the_directory(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    entries = [
        HistoryEntry("a", 1, str(real), SID),
        HistoryEntry("b", 2, "/elsewhere", SID),
        HistoryEntry("c", 3, str(real), None),
    ]
    assert [e.display for e in filter_by_directory(entries, link)] == ["a", "c"]
    assert [e.display for e in filter_by_directory(entries, str(real) + "/")] == ["a", "c"]


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("/exit", True),
        ("/clear", True),
        ("/model opus", True),
        ("/mcp__github__pr", True),
        ("/plugin:cmd arg", True),
        ("/home/u/file.txt is broken", False),
        ("fix /exit handling", False),
        ("/", False),
        ("", False),
    ],
)
def test_slash_commands(display: str, expected: bool) -> None:
    assert is_slash_command(display) is expected


# --------------------------------------------------------------------------- appending


def test_append_writes_the_clis_exact_bytes(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    link = tmp_path / "link"
    link.symlink_to(project)
    path = tmp_path / "cfg" / "history.jsonl"
    entry = append_history_entry(
        path,
        display='héllo "q"\nline2\ttab\\back \x1b[31m \u2028 🚀 \ud800',
        project=link,
        session_id=SID,
        timestamp_ms=123,
    )
    # Byte-for-byte what node's JSON.stringify gives for the same object (checked once
    # against node): raw UTF-8, JS escapes, a lone surrogate as an escape.
    expected = (
        '{"display":"héllo \\"q\\"\\nline2\\ttab\\\\back \\u001b[31m \u2028 🚀 \\ud800",'
        f'"pastedContents":{{}},"timestamp":123,"project":"{project}","sessionId":"{SID}"}}\n'
    ).encode()
    assert path.read_bytes() == expected
    assert entry == HistoryEntry(entry.display, 123, str(project), SID)
    assert read_claude_history(path)[0].display == entry.display


def test_append_creates_the_file_0600_and_keeps_an_existing_mode(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    old_umask = os.umask(0o022)
    try:
        append_history_entry(path, display="a", project=tmp_path, session_id=SID)
    finally:
        os.umask(old_umask)
    assert path.stat().st_mode & 0o777 == 0o600
    os.chmod(path, 0o640)
    append_history_entry(path, display="b", project=tmp_path, session_id=SID)
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.read_bytes().count(b"\n") == 2


def test_append_defaults_the_timestamp_to_now(tmp_path: Path) -> None:
    before = int(time.time() * 1000)
    entry = append_history_entry(
        tmp_path / "history.jsonl", display="now", project=tmp_path, session_id=SID
    )
    assert before <= entry.timestamp_ms <= int(time.time() * 1000) + 1


@pytest.mark.parametrize(
    "bad",
    [
        {"display": None},
        {"session_id": ""},
        {"session_id": 5},
        {"timestamp_ms": "1"},
        {"timestamp_ms": True},
    ],
)
def test_append_refuses_bad_arguments_and_writes_nothing(
    tmp_path: Path, bad: dict[str, object]
) -> None:
    path = tmp_path / "history.jsonl"
    arguments: dict[str, object] = {"display": "x", "project": tmp_path, "session_id": SID}
    arguments.update(bad)
    with pytest.raises(ValueError):
        append_history_entry(path, **arguments)  # type: ignore[arg-type]
    assert not path.exists()


def test_append_waits_for_the_lock_and_gives_up_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    lock = tmp_path / "history.jsonl.lock"
    lock.mkdir()
    started = time.monotonic()
    with pytest.raises(HistoryLockTimeout):
        append_history_entry(
            path, display="x", project=tmp_path, session_id=SID, lock_timeout_s=0.2
        )
    assert 0.2 <= time.monotonic() - started < 2
    assert not path.exists()
    assert lock.is_dir()  # someone else's lock is left alone


def test_a_stale_lock_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    lock = tmp_path / "history.jsonl.lock"
    lock.mkdir()
    old = time.time() - 30
    os.utime(lock, (old, old))
    append_history_entry(path, display="x", project=tmp_path, session_id=SID, lock_timeout_s=1)
    assert path.read_bytes().count(b"\n") == 1
    assert not lock.exists()


def test_lock_is_released_even_when_the_body_fails(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    with pytest.raises(RuntimeError), history_lock(path):
        assert (tmp_path / "history.jsonl.lock").is_dir()
        raise RuntimeError("boom")
    assert not (tmp_path / "history.jsonl.lock").exists()
