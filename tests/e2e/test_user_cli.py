"""Turns run on the user's own `claude` (found on PATH), and `baton doctor` says so."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.test_cli import baton
from tests.fakes.claude_cli import ClaudeEnv, bundled_cli_path, user_claude


def _path_with(bin_dir: Path) -> str:
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"


def test_a_turn_runs_through_the_claude_found_on_path(
    claude_env: ClaudeEnv, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.log"
    user_claude(tmp_path / "bin", calls=calls)
    done = baton(claude_env, tmp_path, "ask", "--new", "hello", PATH=_path_with(tmp_path / "bin"))
    assert done.returncode == 0, done.stderr
    assert "FAKE-REPLY" in done.stdout
    runs = calls.read_text().splitlines()
    assert any("--output-format stream-json" in line for line in runs), runs


def test_an_older_claude_on_path_is_passed_over_and_doctor_says_why(
    claude_env: ClaudeEnv, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.log"
    user_claude(tmp_path / "bin", version="1.0.0", calls=calls)
    path = _path_with(tmp_path / "bin")
    doctor = baton(claude_env, tmp_path, "doctor", PATH=path)
    report = doctor.stdout
    assert f"bundled claude CLI: 2.1.330 ({bundled_cli_path()})" in report
    assert f"your claude CLI: 1.0.0 ({tmp_path / 'bin' / 'claude'})" in report
    assert "warn  turns run on: 2.1.330 (bundled" in report and "older" in report
    assert calls.read_text().splitlines() == ["--version"]  # asked, never run for a turn
