"""Which session a turn goes to, with the real Claude CLI against FakeAnthropic.

A session made at the terminal is found through history.jsonl and continued from chat;
a chat session continues at the terminal; a resume that cannot work falls back to a
fresh session and says which one failed and why.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from session_core.catalog import SessionCatalog
from session_core.claude_home import ClaudeHome, find_transcript
from session_core.runner import TurnRunner
from tests.fakes.anthropic import FakeAnthropic, conversation_text, last_prompt
from tests.fakes.claude_cli import ClaudeEnv, run_claude_print, terminal_session
from tests.fakes.turns import collect, finished, started, text


async def test_terminal_session_is_listed_and_auto_resumed(
    claude_env: ClaudeEnv, claude_home: ClaudeHome, turn_runner: TurnRunner, fake_api: FakeAnthropic
) -> None:
    sid = terminal_session(claude_env, "first from the terminal")
    listed = SessionCatalog(claude_home).list(directory=claude_env.project)
    assert [s.session_id for s in listed] == [sid]
    assert listed[0].has_transcript

    events = await collect(turn_runner.stream_turn("now from chat", claude_env.project, "u1"))

    assert (started(events).session_id, started(events).resumed) == (sid, True)
    assert started(events).resume_failure is None
    assert finished(events).outcome == "success"
    assert finished(events).session_id == sid
    request = fake_api.requests_for_session(sid)[-1]
    assert last_prompt(request) == "now from chat"
    assert "FAKE-REPLY #1 to: first from the terminal" in conversation_text(request)
    assert text(events) == "FAKE-REPLY #2 to: now from chat"


async def test_force_new_starts_a_fresh_session(
    claude_env: ClaudeEnv, turn_runner: TurnRunner, fake_api: FakeAnthropic
) -> None:
    old = terminal_session(claude_env, "old work")

    events = await collect(
        turn_runner.stream_turn("fresh start", claude_env.project, "u1", force_new=True)
    )

    new = started(events).session_id
    assert new != old
    assert not started(events).resumed
    assert finished(events).outcome == "success"
    assert "old work" not in conversation_text(fake_api.requests_for_session(new)[-1])


async def test_unknown_session_falls_back_and_says_which_and_why(
    claude_env: ClaudeEnv, claude_home: ClaudeHome, turn_runner: TurnRunner
) -> None:
    missing = str(uuid.uuid4())

    events = await collect(
        turn_runner.stream_turn("hello?", claude_env.project, "u1", session_id=missing)
    )

    head, tail = started(events), finished(events)
    assert head.resume_failure is not None
    assert head.resume_failure.session_id == missing
    assert "No conversation found" in head.resume_failure.reason
    assert tail.resume_failure == head.resume_failure
    assert head.session_id != missing and not head.resumed
    assert (tail.outcome, tail.session_id) == ("success", head.session_id)
    assert find_transcript(claude_home, head.session_id) is not None


async def test_pruned_transcript_is_not_auto_resumed(
    claude_env: ClaudeEnv, claude_home: ClaudeHome, turn_runner: TurnRunner, fake_api: FakeAnthropic
) -> None:
    old = terminal_session(claude_env, "soon pruned")
    transcript = find_transcript(claude_home, old)
    assert transcript is not None
    transcript.unlink()

    events = await collect(turn_runner.stream_turn("anyone there", claude_env.project, "u1"))

    head = started(events)
    assert head.session_id != old
    assert not head.resumed
    assert head.resume_failure is None, "a pruned session is never even tried"
    assert finished(events).outcome == "success"
    assert "soon pruned" not in conversation_text(fake_api.messages_requests()[-1])


async def test_chat_session_continues_at_the_terminal_and_back(
    claude_env: ClaudeEnv, claude_home: ClaudeHome, turn_runner: TurnRunner, fake_api: FakeAnthropic
) -> None:
    first = await collect(turn_runner.stream_turn("from chat", claude_env.project, "u1"))
    sid = started(first).session_id

    at_desk = run_claude_print(claude_env, "from the terminal", resume=sid)
    assert at_desk.returncode == 0, at_desk.stderr
    assert at_desk.session_id == sid
    desk_request = fake_api.messages_requests()[-1]
    assert "sdk-cli" in desk_request.headers["user-agent"]
    assert "FAKE-REPLY #1 to: from chat" in conversation_text(desk_request)

    # Back in chat: the live client predates the terminal turn, so it must not be reused.
    back = await collect(turn_runner.stream_turn("chat again", claude_env.project, "u1"))
    assert started(back).session_id == sid
    assert "FAKE-REPLY #2 to: from the terminal" in conversation_text(
        fake_api.messages_requests()[-1]
    )

    transcript = find_transcript(claude_home, sid)
    assert transcript is not None
    entrypoints = {
        json.loads(line).get("entrypoint")
        for line in transcript.read_text().splitlines()
        if '"entrypoint"' in line
    }
    assert "claude-baton" in entrypoints, "the terminal's picker hides sdk-* sessions"


async def test_explicit_resume_runs_in_the_sessions_own_directory(
    claude_env: ClaudeEnv, claude_home: ClaudeHome, turn_runner: TurnRunner, tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    sid = terminal_session(claude_env, "made in proj")

    events = await collect(turn_runner.stream_turn("where am I", other, "u1", session_id=sid))

    assert started(events).working_directory == str(claude_env.project)
    assert finished(events).outcome == "success"
    lines = [json.loads(x) for x in claude_home.history_path.read_text().splitlines()]
    assert lines[-1]["project"] == str(claude_env.project)
    assert lines[-1]["sessionId"] == sid


async def test_history_gets_one_cli_format_line_per_prompt(
    claude_env: ClaudeEnv, claude_home: ClaudeHome, turn_runner: TurnRunner
) -> None:
    one = await collect(turn_runner.stream_turn("prompt one", claude_env.project, "u1"))
    sid = started(one).session_id
    await collect(turn_runner.stream_turn("prompt two", claude_env.project, "u1", session_id=sid))

    raw = claude_home.history_path.read_text()
    lines = [json.loads(x) for x in raw.splitlines()]
    assert raw.endswith("\n")
    assert [x["display"] for x in lines] == ["prompt one", "prompt two"]
    for line in lines:
        assert list(line) == ["display", "pastedContents", "timestamp", "project", "sessionId"]
        assert line["pastedContents"] == {}
        assert isinstance(line["timestamp"], int)
        assert line["project"] == str(claude_env.project)
        assert line["sessionId"] == sid
    assert oct(claude_home.history_path.stat().st_mode & 0o777) == oct(0o600)
