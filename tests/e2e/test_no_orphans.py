"""A SIGKILLed bot leaves no `claude` behind, and the session it was writing stays whole.

The kill lands while the fake Messages API streams an answer slowly, so the CLI child is
mid-turn. Afterwards no Claude process of this test's config dir may survive, the
transcript must still be one chain (every ``parentUuid`` names an earlier line), and the
session must resume from the terminal side (``baton ask --session``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from session_core.claude_home import ClaudeHome, find_transcript
from session_core.history_lines import read_claude_history
from tests.e2e.bot_process import BatonProcess, claude_processes_of, telegram_bot_env
from tests.fakes.anthropic import FakeAnthropic, RecordedRequest, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.telegram_api import FakeTelegram

USER = 4242


def assert_one_chain(transcript: Path) -> None:
    seen: set[str] = set()
    for raw in transcript.read_bytes().split(b"\n")[:-1]:
        line = json.loads(raw)  # no torn line
        uuid = line.get("uuid")
        if uuid is None:
            continue  # bookkeeping lines carry no uuid
        parent = line.get("parentUuid")
        assert parent is None or parent in seen, f"{uuid} has a dangling parent {parent}"
        seen.add(uuid)
    assert transcript.read_bytes().endswith(b"\n")


async def wait_until_gone(config_dir: Path, timeout_s: float) -> list[str]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        left = claude_processes_of(config_dir)
        if not left or asyncio.get_running_loop().time() > deadline:
            return [f"{p.pid} {p.cmdline()[:2]}" for p in left]
        await asyncio.sleep(0.1)


async def test_sigkill_mid_turn_leaves_no_claude_and_a_resumable_session(
    claude_env: ClaudeEnv, fake_api: FakeAnthropic, tg: FakeTelegram, tmp_path: Path
) -> None:
    """The user sees: the answer stops; nothing keeps running on their machine. Kept: the
    session, one valid chain, resumable. Lost: only the unanswered part of that turn
    (the restarted bot reruns the prompt: tests/e2e/test_crash_recovery.py)."""

    def responder(request: RecordedRequest, n: int) -> Reply | None:
        return Reply.slow(240, delay_s=0.25) if n == 1 else None

    fake_api.responder = responder
    env = telegram_bot_env(claude_env, tmp_path / "data", tg, USER)
    bot = await BatonProcess(env, tmp_path).start()
    try:
        tg.send_user_message(USER, USER, "a long answer please")
        await tg.wait_for_message(USER, contains="tick", timeout=60)
        assert bot.claude_children(), "the turn runs in a Claude child of the bot"
        await bot.kill()
    finally:
        await bot.aclose()
    left = await wait_until_gone(claude_env.config_dir, timeout_s=5.0)
    for process in claude_processes_of(claude_env.config_dir):
        process.kill()  # this test's own CLI, should the assertion below fail
    assert left == [], f"orphaned claude processes: {left}"

    sid = read_claude_history(claude_env.config_dir / "history.jsonl")[0].session_id
    assert sid is not None
    transcript = find_transcript(ClaudeHome(claude_env.config_dir), sid)
    assert transcript is not None
    assert_one_chain(transcript)
    done = subprocess.run(
        [sys.executable, "-m", "chat_adapters", "ask", "--session", sid, "after the crash"],
        env={**env, "BATON_LOG_LEVEL": "WARNING"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "to: after the crash" in done.stdout
    assert_one_chain(transcript)
    assert os.path.exists(transcript)
