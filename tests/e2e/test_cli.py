"""`baton` as a person runs it: a real process, the real Claude CLI, FakeAnthropic."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from session_core.claude_home import ClaudeHome, find_transcript
from session_core.history_lines import read_claude_history
from session_core.history_writer import append_history_entry
from session_core.session_claims import SessionClaims
from storage import MIGRATIONS
from tests.fakes.anthropic import FakeAnthropic, conversation_text
from tests.fakes.claude_cli import ClaudeEnv, terminal_session

JSON_KEYS = {
    "session_id",
    "project",
    "first_prompt",
    "last_prompt",
    "last_activity",
    "prompt_count",
    "transcript",
    "live",
}


def baton(
    claude_env: ClaudeEnv, tmp_path: Path, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **claude_env.env,
        "BATON_ROOTS": str(claude_env.project),
        "BATON_DATA_DIR": str(tmp_path / "data"),
        "BATON_LOG_LEVEL": "WARNING",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "chat_adapters", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_sessions_json_lists_terminal_sessions_newest_first(
    claude_env: ClaudeEnv, tmp_path: Path
) -> None:
    gone = str(uuid.uuid4())
    append_history_entry(
        ClaudeHome(claude_env.config_dir).history_path,
        display="pruned long ago",
        project=os.path.realpath(claude_env.project),
        session_id=gone,
    )
    first = terminal_session(claude_env, "first task")
    second = terminal_session(claude_env, "second task")
    done = baton(claude_env, tmp_path, "sessions", "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [s["session_id"] for s in listed] == [second, first, gone]
    assert all(set(s) == JSON_KEYS for s in listed)
    assert listed[0]["first_prompt"] == "second task"
    assert listed[0]["transcript"] is True and listed[2]["transcript"] is False
    assert listed[0]["last_activity"].endswith("Z")
    assert listed[0]["live"] is False and listed[0]["prompt_count"] == 1

    table = baton(claude_env, tmp_path, "sessions", "--limit", "1")
    assert second[:8] in table.stdout and first[:8] not in table.stdout


def test_ask_auto_resumes_then_new_starts_fresh(
    claude_env: ClaudeEnv, tmp_path: Path, fake_api: FakeAnthropic
) -> None:
    sid = terminal_session(claude_env, "desk prompt")
    done = baton(claude_env, tmp_path, "ask", "from", "baton")
    assert done.returncode == 0, done.stderr
    assert "FAKE-REPLY #2 to: from baton" in done.stdout
    assert f"session {sid}" in done.stderr and "success" in done.stderr
    assert "desk prompt" in conversation_text(fake_api.messages_requests()[-1])

    fresh = baton(claude_env, tmp_path, "ask", "--new", "clean slate")
    assert fresh.returncode == 0, fresh.stderr
    assert sid not in fresh.stderr
    newest = read_claude_history(claude_env.config_dir / "history.jsonl")[0]
    assert newest.display == "clean slate" and newest.session_id != sid


def test_ask_with_a_pruned_session_says_which_failed_and_which_answered(
    claude_env: ClaudeEnv, tmp_path: Path
) -> None:
    sid = terminal_session(claude_env, "soon pruned")
    transcript = find_transcript(ClaudeHome(claude_env.config_dir), sid)
    assert transcript is not None
    transcript.unlink()
    done = baton(claude_env, tmp_path, "ask", "--session", sid[:8], "hello")
    assert done.returncode == 0, done.stderr
    assert f"Could not resume session {sid}" in done.stderr
    assert "Started a new session instead:" in done.stderr


def test_ask_refuses_directories_outside_the_roots(claude_env: ClaudeEnv, tmp_path: Path) -> None:
    done = baton(claude_env, tmp_path, "ask", "--dir", "/", "hello")
    assert done.returncode == 1
    assert "outside the approved roots" in done.stderr
    unknown = baton(claude_env, tmp_path, "ask", "--session", "ffffffff", "hello")
    assert unknown.returncode == 1 and "ffffffff" in unknown.stderr


def test_ask_reports_an_api_error_with_non_zero_exit(claude_env: ClaudeEnv, tmp_path: Path) -> None:
    done = baton(claude_env, tmp_path, "ask", "--new", "ERROR:500 boom")
    assert done.returncode == 1
    assert "api_error" in done.stderr


def test_doctor_and_run_without_tokens(claude_env: ClaudeEnv, tmp_path: Path) -> None:
    terminal_session(claude_env, "something")
    history = ClaudeHome(claude_env.config_dir).history_path
    with history.open("ab") as f:
        f.write(b"not json\n\xff\xfe\n")
    doctor = baton(claude_env, tmp_path, "doctor")
    assert doctor.returncode == 1  # no app token: the bot cannot run
    assert "3 lines, 1 sessions, 2 skipped lines" in doctor.stdout
    assert "2.1.330" in doctor.stdout
    assert f"migration {MIGRATIONS.head}" in doctor.stdout
    assert "FAIL  apps" in doctor.stdout

    # A token is asked of the platform (here: nobody listens), so a bad one is a FAIL.
    unreachable = baton(
        claude_env,
        tmp_path,
        "doctor",
        TELEGRAM_BOT_TOKEN="1:x",
        TELEGRAM_API_URL="http://127.0.0.1:9",
    )
    assert unreachable.returncode == 1, unreachable.stdout
    assert "FAIL  telegram token: getMe failed: cannot reach the API" in unreachable.stdout
    assert "ok  apps: telegram" in unreachable.stdout and "1:x" not in unreachable.stdout

    run = baton(claude_env, tmp_path, "run")
    assert run.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in run.stderr and "DISCORD_BOT_TOKEN" in run.stderr


@pytest.mark.parametrize(
    ("name", "value"), [("BATON_ROOTS", "/nope/nowhere"), ("BATON_VERBOSITY", "9")]
)
def test_bad_setting_is_one_clear_line(
    claude_env: ClaudeEnv, tmp_path: Path, name: str, value: str
) -> None:
    done = baton(claude_env, tmp_path, "sessions", **{name: value})
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert name in done.stderr


async def test_ask_waits_while_another_process_holds_the_session(
    claude_env: ClaudeEnv, tmp_path: Path
) -> None:
    sid = terminal_session(claude_env, "shared session")
    claims = SessionClaims(tmp_path / "data" / "claims")
    async with claims.claim(sid, "telegram:1"):
        asking = asyncio.create_task(asyncio.to_thread(baton, claude_env, tmp_path, "ask", "hi"))
        await asyncio.sleep(3)
        assert not asking.done()  # it waits for the holder
    done = await asyncio.wait_for(asking, 60)
    assert done.returncode == 0, done.stderr
    assert f"Session {sid} is busy (telegram:1 (pid {os.getpid()}))" in done.stderr
    assert "FAKE-REPLY #2 to: hi" in done.stdout
