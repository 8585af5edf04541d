"""The real terminal `claude` and the bot append to history.jsonl at the same time.

A smaller count than tests/test_history_concurrency.py (which uses a process appending
the CLI's way, 1,000 lines): every prompt here is typed into the real TUI in tmux while
another process appends through ``append_history_entry`` as fast as it can.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.tui import Tui, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="needs tmux (.ci/run installs it)")

BOT = """
import sys, time
from pathlib import Path
from session_core.history_writer import append_history_entry
path, stop = Path(sys.argv[1]), Path(sys.argv[2])
i = 0
while not stop.exists():
    append_history_entry(path, display=f"bot {i} " + "b" * (i % 500), project="/w/bot",
                         session_id="bot-session")
    i += 1
    time.sleep(0.002)
print(i)
"""

TUI_PROMPTS = 8


def test_real_tui_and_the_bot_append_together_without_torn_lines(
    claude_env: ClaudeEnv, tmp_path: Path
) -> None:
    history = claude_env.config_dir / "history.jsonl"
    stop = tmp_path / "stop"
    bot = subprocess.Popen(
        [sys.executable, "-c", BOT, str(history), str(stop)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
    )
    try:
        with Tui(claude_env, claude_env.project) as tui:
            tui.wait_for("shift+tab", timeout_s=60)
            for n in range(1, TUI_PROMPTS + 1):
                tui.type(f"typed at the desk {n}")
                tui.press("Enter")
                tui.wait_for(f"FAKE-REPLY #{n} to: typed at the desk {n}", timeout_s=60)
            time.sleep(0.5)
        stop.touch()
        out, _ = bot.communicate(timeout=30)
    finally:
        bot.kill()
    bot_count = int(out)
    lines = history.read_bytes().split(b"\n")
    assert lines[-1] == b""
    entries = [json.loads(line) for line in lines[:-1]]  # no torn or merged line
    typed = [e["display"] for e in entries if e["project"] != "/w/bot"]
    assert [t for t in typed if t.startswith("typed")] == [
        f"typed at the desk {n}" for n in range(1, TUI_PROMPTS + 1)
    ]
    bot_lines = [int(e["display"].split()[1]) for e in entries if e["project"] == "/w/bot"]
    assert bot_lines == list(range(bot_count))
    assert bot_count > 100
