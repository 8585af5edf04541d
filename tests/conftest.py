"""Shared fixtures: a fake Anthropic API and an isolated Claude Code world per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv, isolated_claude_env


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(log_path=tmp_path / "requests.jsonl") as fake:
        yield fake


@pytest.fixture
def claude_env(
    tmp_path: Path, fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> ClaudeEnv:
    """Isolated CLAUDE_CONFIG_DIR, HOME and CLAUDE_CODE_TMPDIR, pointed at ``fake_api``.

    CLAUDE_CONFIG_DIR is also set in this process: the SDK's session helpers read it
    from ``os.environ``, not from the options' env.
    """
    world = isolated_claude_env(tmp_path / "claude", fake_api.url)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(world.config_dir))
    return world
