"""The Claude Code CLI bundled in the claude-agent-sdk wheel, found without importing it.

Importing ``claude_agent_sdk`` pulls in ``mcp`` and more (over a second); ``baton doctor``
only needs the binary's path and ``--version``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path


def cli_path() -> Path:
    """Where the pinned wheel keeps its ``claude`` binary."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("claude_agent_sdk is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "_bundled" / "claude"


def cli_version(timeout_s: float = 20.0) -> str | None:
    """``claude --version`` of the bundled CLI, or None when it does not answer."""
    try:
        done = subprocess.run(
            [str(cli_path()), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            env={**os.environ, "DISABLE_AUTOUPDATER": "1"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
