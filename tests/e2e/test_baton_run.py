"""`baton run` as an operator starts it: a separate process, settings from the
environment, the fake Bot API and the real Claude CLI; SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.telegram_api import FakeTelegram

USER = 4242


async def test_baton_run_answers_and_stops_on_sigterm(
    claude_env: ClaudeEnv, fake_api: FakeAnthropic, tg: FakeTelegram, tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **claude_env.env,
        "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_URL": tg.root_url,
        "BATON_ALLOWED_USERS": f"telegram:{USER}",
        "BATON_ROOTS": str(claude_env.project),
        "BATON_DATA_DIR": str(tmp_path / "data"),
        "BATON_LOG_FORMAT": "json",
    }
    tg.send_user_message(USER, USER, "hello before the bot was up")
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chat_adapters",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await tg.wait_for_message(
            USER, contains="FAKE-REPLY #1 to: hello before the bot was up", timeout=60
        )
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chat_adapters",
            "run",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, second_err = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 2
        assert f"already running here (pid {bot.pid})" in second_err.decode()
        tg.send_user_message(USER, USER, "/status")
        status = await tg.wait_for_message(USER, contains="State:", timeout=30)
        assert str(claude_env.project) in (status.text or "")
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(bot.communicate(), 30)
    assert bot.returncode == 0, err.decode()
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert any(line.get("event") == "baton.stopped" for line in lines)
    assert tg.token not in err.decode()  # the token never reaches the log
