"""Which Claude Code CLI runs the turns: the user's own, or the one bundled in the SDK.

The terminal and the bot write the same session files, so they should run the same
Claude Code. The choice, in order: the path the operator named (``BATON_CLAUDE_CLI``),
then the ``claude`` on ``PATH`` unless it is older than the bundled CLI (the pinned
claude-agent-sdk is tested with its own CLI, and an older one may lack what it uses),
then the bundled CLI. The choice carries the reason, so the bot, ``baton doctor`` and
``baton --version`` can say which CLI runs and why.

This module never imports ``claude_agent_sdk``: the bundled CLI is found through the
package's location on disk, and its version is read from the file the wheel ships.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Source = Literal["BATON_CLAUDE_CLI", "PATH", "bundled"]

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True)
class FoundCli:
    """One CLI the choice looked at, with what ``--version`` said (None: no answer)."""

    path: Path
    version: str | None


@dataclass(frozen=True, slots=True)
class CliChoice:
    """The CLI that runs turns, the candidates considered, and why this one."""

    path: Path
    version: str | None
    source: Source
    reason: str
    bundled: FoundCli
    user: FoundCli | None
    """The operator's (``BATON_CLAUDE_CLI``) or the ``PATH`` CLI, when there is one."""
    notice: bool = False
    """True when the person should be told (their CLI is not the one used, or is older)."""

    @property
    def sdk_path(self) -> str | None:
        """What to pass as the SDK's ``cli_path``: None lets the SDK use its bundled CLI."""
        return None if self.source == "bundled" else str(self.path)

    def chat_line(self) -> str:
        """Which Claude Code answers, for a chat's /status (no paths); why, when it matters."""
        source = "your claude" if self.source == "PATH" else self.source
        line = f"{self.version or '?'} ({source})"
        return f"{line}: {self.reason}" if self.notice else line

    def describe(self) -> str:
        return f"{self.version or 'unknown version'} ({self.source}: {self.path}): {self.reason}"


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """``2.1.330 (Claude Code)`` → (2, 1, 330); None when there is no x.y.z in it."""
    found = _VERSION.search(text or "")
    if found is None:
        return None
    major, minor, patch = found.groups()
    return int(major), int(minor), int(patch)


def bundled_cli_path() -> Path:
    """Where the claude-agent-sdk wheel keeps its CLI, found without importing the SDK."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    locations = list(spec.submodule_search_locations or []) if spec else []
    bundled_dir = Path(locations[0]) / "_bundled" if locations else Path("_bundled")
    return bundled_dir / "claude"


def bundled_cli(env: Mapping[str, str]) -> FoundCli:
    """The CLI shipped in the claude-agent-sdk wheel, with the version the wheel names
    (asked of the CLI, run with ``env``, only when the wheel does not say)."""
    path = bundled_cli_path()
    try:
        version = path.with_name("claude.version").read_text(encoding="utf-8").strip() or None
    except OSError:
        version = None
    return FoundCli(path, _short(version) if version else probe_version(path, env))


def probe_version(path: Path, env: Mapping[str, str], timeout_s: float = 20.0) -> str | None:
    """``<path> --version`` as ``x.y.z``, or None when it does not answer with one.

    ``env`` is the environment the CLI runs with: the caller's (this layer reads none).
    Answers are cached per path and environment; ``forget_probes`` clears them.
    """
    return _probe(path, tuple(sorted(env.items())), timeout_s)


@functools.lru_cache(maxsize=16)
def _probe(path: Path, env: tuple[tuple[str, str], ...], timeout_s: float) -> str | None:
    try:
        done = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            env={**dict(env), "DISABLE_AUTOUPDATER": "1"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return _short(done.stdout) if done.returncode == 0 else None


def forget_probes() -> None:
    """Drop the cached ``--version`` answers (a benchmark wants cold figures)."""
    _probe.cache_clear()


def _short(text: str) -> str | None:
    parsed = parse_version(text)
    return ".".join(map(str, parsed)) if parsed else None


def choose_cli(explicit: Path | None, search_path: str, env: Mapping[str, str]) -> CliChoice:
    """The CLI for turns, given the operator's path (if any), the ``PATH`` to search and
    the environment a CLI runs with (for ``--version``)."""
    bundled = bundled_cli(env)
    if explicit is not None:
        mine = FoundCli(explicit, probe_version(explicit, env))
        if mine.version is None:
            reason = "BATON_CLAUDE_CLI did not answer --version; using the bundled CLI"
            return _bundled(bundled, mine, reason)
        reason = "BATON_CLAUDE_CLI names it"
        older = _older(mine, bundled)
        if older:
            reason += f"; it is older than the bundled {bundled.version}, which the SDK expects"
        return CliChoice(explicit, mine.version, "BATON_CLAUDE_CLI", reason, bundled, mine, older)
    found = shutil.which("claude", path=search_path) if search_path else None
    if found is None or _same_file(Path(found), bundled.path):
        return _bundled(bundled, None, "no claude on PATH", notice=False)
    on_path = FoundCli(Path(found), probe_version(Path(found), env))
    if on_path.version is None:
        return _bundled(bundled, on_path, "the claude on PATH did not answer --version")
    if _older(on_path, bundled):
        reason = (
            f"the claude on PATH ({on_path.version}) is older than the bundled "
            f"{bundled.version} that claude-agent-sdk is tested with; update it (claude update) "
            "so the terminal and the bot write sessions with one version"
        )
        return _bundled(bundled, on_path, reason)
    reason = "the claude on PATH, the one the terminal runs"
    return CliChoice(on_path.path, on_path.version, "PATH", reason, bundled, on_path)


def _bundled(
    bundled: FoundCli, user: FoundCli | None, reason: str, *, notice: bool = True
) -> CliChoice:
    return CliChoice(bundled.path, bundled.version, "bundled", reason, bundled, user, notice)


def _older(cli: FoundCli, than: FoundCli) -> bool:
    mine, theirs = parse_version(cli.version), parse_version(than.version)
    return mine is not None and theirs is not None and mine < theirs


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False
