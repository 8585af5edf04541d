"""An ANTHROPIC_API_KEY kept only in `.env` reaches Claude Code (the quick start says
to put it there; the settings read `.env`, the CLI only the environment)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv


def test_a_key_in_dotenv_reaches_the_cli(
    claude_env: ClaudeEnv, fake_api: FakeAnthropic, tmp_path: Path
) -> None:
    env = {k: v for k, v in claude_env.env.items() if k != "ANTHROPIC_API_KEY"}
    env |= {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BATON_ROOTS": str(claude_env.project),
        "BATON_DATA_DIR": str(tmp_path / "data"),
        "BATON_LOG_LEVEL": "WARNING",
    }
    (tmp_path / ".env").write_text("ANTHROPIC_API_KEY=key-from-dotenv\n")
    done = subprocess.run(
        [sys.executable, "-m", "chat_adapters", "ask", "--new", "hello"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    keys = {r.headers.get("x-api-key") for r in fake_api.messages_requests()}
    assert keys == {"key-from-dotenv"}
    assert "key-from-dotenv" not in done.stdout + done.stderr
