"""`baton run` as a real process for crash tests: started, SIGKILLed, started again.

The environment is what an operator sets (tests/e2e/test_baton_run.py does the same for
one clean run); the data dir persists across starts, as on a real machine.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psutil

from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.telegram_api import FakeTelegram


def baton_env(claude_env: ClaudeEnv, data_dir: Path, **apps: str) -> dict[str, str]:
    """Settings for ``baton run``; ``apps`` adds TELEGRAM_*/DISCORD_* and the like."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **claude_env.env,
        "BATON_ROOTS": str(claude_env.project),
        "BATON_DATA_DIR": str(data_dir),
        "BATON_LOG_FORMAT": "json",
        **apps,
    }


def telegram_bot_env(
    claude_env: ClaudeEnv, data_dir: Path, tg: FakeTelegram, user: int
) -> dict[str, str]:
    """``baton_env`` for a Telegram bot on the fake Bot API that ``user`` may use."""
    return baton_env(
        claude_env,
        data_dir,
        TELEGRAM_BOT_TOKEN=tg.token,
        TELEGRAM_API_URL=tg.root_url,
        BATON_ALLOWED_USERS=f"telegram:{user}",
        # These bots are read through their edited live message (partial text after a
        # crash); drafts, the private-chat default, are covered by telegram/test_drafts.
        BATON_TELEGRAM_DRAFTS="false",
        BATON_WARM_NEW_SESSIONS="false",
    )


class BatonProcess:
    """One ``python -m chat_adapters run``; its stderr (JSON logs) is kept."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr = b""

    async def start(self) -> BatonProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chat_adapters",
            "run",
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def claude_children(self) -> list[psutil.Process]:
        """The Claude CLI processes this bot runs now."""
        try:
            children = psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [c for c in children if _is_claude(c)]

    async def kill(self) -> None:
        """SIGKILL, as the OOM killer or a power cut would: no clean-up runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self._collect()

    async def terminate(self, timeout_s: float = 40.0) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self._collect(), timeout_s)
        assert self.proc.returncode is not None
        return self.proc.returncode

    async def _collect(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        self.stderr += await self.proc.stderr.read()
        await self.proc.wait()

    async def aclose(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self._collect()


def _is_claude(process: psutil.Process) -> bool:
    try:
        return any("claude" in part for part in process.cmdline()[:2])
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def claude_processes_of(config_dir: Path) -> list[psutil.Process]:
    """Every live Claude CLI on this machine that uses ``config_dir`` (this test's)."""
    found = []
    for process in psutil.process_iter():
        try:
            if not _is_claude(process):
                continue
            if process.environ().get("CLAUDE_CONFIG_DIR") == str(config_dir):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found
