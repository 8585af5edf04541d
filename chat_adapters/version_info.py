"""`baton --version`: this package's version with the SDK's and the Claude Code CLI's.

Versions come from installed metadata and the CLI choice, never from importing the SDK,
so the answer is quick. The package version comes from git tags at build time
(hatch-vcs; see pyproject.toml).
"""

from __future__ import annotations

from importlib import metadata

from session_core.claude_cli import CliChoice

PACKAGE = "claude-baton"
SDK = "claude-agent-sdk"


def installed_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def version_lines(cli: CliChoice) -> list[str]:
    """Three lines: baton, the SDK with its bundled CLI, and the CLI that runs turns."""
    return [
        f"{PACKAGE} {installed_version(PACKAGE)}",
        f"{SDK} {installed_version(SDK)} (bundled Claude Code {cli.bundled.version or '?'})",
        f"Claude Code for turns: {cli.describe()}",
    ]
