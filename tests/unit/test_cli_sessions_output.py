"""`baton sessions` output: JSON byte-identical to json.dumps, an aligned table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chat_adapters.cli.sessions import fit, json_text, summary_json, table_lines
from session_core.catalog import SessionSummary
from session_core.liveness import LiveProcess

NOW = datetime.now(UTC)


def summary(
    prompt: str = "fix it",
    *,
    sid: str = "aaaaaaaa-0000-4000-8000-000000000001",
    project: str = "/w/p",
    count: int = 3,
    transcript: bool = True,
    live: bool = False,
) -> SessionSummary:
    process = LiveProcess(1, sid, project, 0, "cli", "interactive") if live else None
    return SessionSummary(
        session_id=sid,
        project=project,
        first_prompt=prompt,
        last_prompt=prompt[::-1],
        last_activity=NOW - timedelta(minutes=5),
        prompt_count=count,
        has_transcript=transcript,
        live=process,
    )


@given(
    st.lists(
        st.builds(
            summary,
            st.text(),
            project=st.text(min_size=1),
            count=st.integers(0, 10**6),
            transcript=st.booleans(),
            live=st.booleans(),
        ),
        max_size=4,
    )
)
def test_json_is_exactly_what_json_dumps_wrote(found: list[SessionSummary]) -> None:
    expected = json.dumps([summary_json(s) for s in found], ensure_ascii=False, indent=1)
    assert json_text(found) == expected


def test_table_is_aligned_and_cut_to_the_terminal() -> None:
    found = [
        summary("short"),
        summary(
            "a very long first prompt " * 10,
            sid="bbbbbbbb-0000-4000-8000-000000000002",
            count=1234,
            live=True,
        ),
        summary(
            "日本語のテスト" * 10, sid="cccccccc-0000-4000-8000-000000000003", transcript=False
        ),
    ]
    lines = list(table_lines(found, with_project=False, columns=60))
    assert lines[0].split() == ["ID", "AGE", "PROMPTS", "STATE", "FIRST", "PROMPT"]
    starts = {line.index("short") if "short" in line else None for line in lines[1:2]}
    prompt_column = lines[0].index("FIRST PROMPT")
    assert starts == {prompt_column}
    assert lines[2][prompt_column:].startswith("a very long")
    assert "live" in lines[2] and "gone" in lines[3] and "1234" in lines[2]
    assert lines[2].endswith("…") and len(lines[2]) <= 60
    wide = lines[3][prompt_column:]
    assert sum(2 if "\u3040" <= c <= "\u9fff" else 1 for c in wide) <= 60 - prompt_column


def test_all_projects_adds_a_project_column() -> None:
    lines = list(table_lines([summary(project="/home/me/app")], with_project=True, columns=100))
    assert "PROJECT" in lines[0] and "/home/me/app" in lines[1]


def test_fit() -> None:
    assert fit("a\n b   c", 10) == "a b c"
    assert fit("abcdef", 4) == "abc…"
    assert fit("日本語", 4) == "日…"
