"""The real bundled Claude CLI, isolated per test and pointed at FakeAnthropic.

``isolated_claude_env`` builds the environment of reference/claude-code-offline.md §12:
every directory the CLI writes to (config, HOME, temp) lives under the test's tmp dir,
retries are off so an error is one request, and nonessential traffic is disabled.
``run_claude_print`` runs ``claude -p`` the way a person at the terminal would;
``terminal_session`` adds the history line the TUI would write, so the bot finds it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from session_core.claude_home import ClaudeHome
from session_core.history_writer import append_history_entry


def bundled_cli_path() -> Path:
    """``claude_agent_sdk/_bundled/claude``, found without importing the SDK (0.5 s)."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is None or spec.origin is None:
        raise RuntimeError("claude-agent-sdk is not installed")
    path = Path(spec.origin).parent / "_bundled" / "claude"
    if not path.exists():
        raise RuntimeError(f"bundled Claude CLI missing: {path}")
    return path


@dataclass(frozen=True, slots=True)
class ClaudeEnv:
    """An isolated Claude Code world: the env for the CLI and the directories behind it."""

    env: dict[str, str]
    config_dir: Path
    home: Path
    project: Path
    tmp: Path
    base_url: str


def isolated_claude_env(root: Path, base_url: str) -> ClaudeEnv:
    """Directories under ``root`` (resolved, as the CLI sees them) and the CLI's env."""
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    config_dir, home, project, tmp = (root / n for n in ("cfg", "home", "proj", "tmp"))
    for d in (config_dir, home, project, tmp):
        d.mkdir(parents=True, exist_ok=True)
    env = {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_AUTH_TOKEN": "",
        "CLAUDE_CODE_OAUTH_TOKEN": "",
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(config_dir),
        "CLAUDE_CODE_TMPDIR": str(tmp),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    return ClaudeEnv(
        env=env, config_dir=config_dir, home=home, project=project, tmp=tmp, base_url=base_url
    )


@dataclass(frozen=True, slots=True)
class PrintRun:
    """One ``claude -p --output-format json`` run."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        """The final JSON result object (raises if the CLI printed none)."""
        for line in reversed(self.stdout.strip().splitlines()):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict) and data.get("type") == "result":
                return data
        raise AssertionError(f"no JSON result from claude -p: {self.stdout!r} {self.stderr!r}")

    @property
    def session_id(self) -> str:
        sid = self.result.get("session_id")
        assert isinstance(sid, str), self.result
        return sid

    @property
    def text(self) -> str:
        text = self.result.get("result")
        return text if isinstance(text, str) else ""


def run_claude_print(
    claude_env: ClaudeEnv,
    prompt: str,
    *,
    cwd: Path | None = None,
    resume: str | None = None,
    extra_args: Sequence[str] = (),
    env_overrides: Mapping[str, str] | None = None,
    timeout_s: float = 60.0,
) -> PrintRun:
    """Run ``claude -p PROMPT`` (prompt first, so no flag can swallow it)."""
    cmd = [str(bundled_cli_path()), "-p", prompt, "--output-format", "json"]
    if resume is not None:
        cmd += ["--resume", resume]
    cmd += list(extra_args)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **claude_env.env}
    if env_overrides:
        env.update(env_overrides)
    done = subprocess.run(
        cmd,
        cwd=cwd or claude_env.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return PrintRun(returncode=done.returncode, stdout=done.stdout, stderr=done.stderr)


def history_line(display: str, ts: int, project: str, session_id: str | None) -> bytes:
    """One history.jsonl line byte for byte as the CLI writes it: compact JSON, UTF-8
    unescaped, keys in the CLI's order; old CLI versions wrote no ``sessionId``."""
    entry: dict[str, object] = {
        "display": display,
        "pastedContents": {},
        "timestamp": ts,
        "project": project,
    }
    if session_id is not None:
        entry["sessionId"] = session_id
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def terminal_session(claude_env: ClaudeEnv, prompt: str, *, project: Path | None = None) -> str:
    """A session as a person makes it at the terminal: ``claude -p`` in ``project``
    (default: the world's project) plus its history line (print mode writes none; the
    TUI would). Returns the session id."""
    where = project or claude_env.project
    run = run_claude_print(claude_env, prompt, cwd=where)
    assert run.returncode == 0, run.stderr
    append_history_entry(
        ClaudeHome(claude_env.config_dir).history_path,
        display=prompt,
        project=os.path.realpath(where),
        session_id=run.session_id,
    )
    return run.session_id


def user_claude(bin_dir: Path, *, version: str | None = None, calls: Path | None = None) -> Path:
    """A ``claude`` in ``bin_dir`` standing for the user's own CLI: a shell wrapper around
    the bundled binary that appends its arguments to ``calls`` (proof it was the one run);
    with ``version`` it answers ``--version`` with that instead of the bundled one's."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    lines = ["#!/bin/sh"]
    if calls is not None:
        lines.append(f'echo "$*" >> "{calls}"')
    if version is not None:
        lines.append(f'if [ "$1" = "--version" ]; then echo "{version} (Claude Code)"; exit 0; fi')
    lines.append(f'exec "{bundled_cli_path()}" "$@"')
    path = bin_dir / "claude"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o755)
    return path
