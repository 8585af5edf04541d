"""Which Claude Code runs the turns: the operator's, the PATH one, or the bundled one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from session_core.claude_cli import bundled_cli, choose_cli, parse_version
from tests.fakes.claude_cli import user_claude

ENV = dict(os.environ)
"""The environment a probed CLI runs with, as settings would hand it over."""


def test_parse_version_reads_claude_code_output() -> None:
    assert parse_version("2.1.330 (Claude Code)\n") == (2, 1, 330)
    assert parse_version("10.0.1") > parse_version("9.99.99")  # type: ignore[operator]
    assert parse_version("no version here") is None
    assert parse_version(None) is None


def test_bundled_cli_is_found_with_its_version() -> None:
    bundled = bundled_cli(ENV)
    assert bundled.path.is_file()
    assert parse_version(bundled.version) is not None


def test_no_claude_on_path_uses_the_bundled_one_quietly(tmp_path: Path) -> None:
    choice = choose_cli(None, str(tmp_path), ENV)
    assert choice.source == "bundled" and choice.sdk_path is None
    assert choice.user is None and not choice.notice
    assert choice.version == bundled_cli(ENV).version


def test_a_claude_on_path_as_new_as_the_bundled_one_is_used(tmp_path: Path) -> None:
    mine = user_claude(tmp_path / "bin")
    choice = choose_cli(None, f"{tmp_path / 'empty'}:{tmp_path / 'bin'}", ENV)
    assert choice.source == "PATH" and choice.path == mine and choice.sdk_path == str(mine)
    assert choice.version == bundled_cli(ENV).version and not choice.notice
    assert choice.chat_line() == f"{choice.version} (your claude)"


def test_a_newer_claude_on_path_is_used(tmp_path: Path) -> None:
    user_claude(tmp_path / "bin", version="999.0.0")
    choice = choose_cli(None, str(tmp_path / "bin"), ENV)
    assert choice.source == "PATH" and choice.version == "999.0.0"


def test_an_older_claude_on_path_falls_back_to_the_bundled_one_and_says_why(
    tmp_path: Path,
) -> None:
    user_claude(tmp_path / "bin", version="1.0.0")
    choice = choose_cli(None, str(tmp_path / "bin"), ENV)
    assert choice.source == "bundled" and choice.sdk_path is None and choice.notice
    assert choice.user is not None and choice.user.version == "1.0.0"
    assert "1.0.0" in choice.reason and "older" in choice.reason
    assert str(bundled_cli(ENV).version) in choice.describe()
    assert choice.chat_line() == f"{bundled_cli(ENV).version} (bundled): {choice.reason}"
    assert str(tmp_path) not in choice.chat_line()  # no paths in a chat


def test_a_broken_claude_on_path_falls_back_to_the_bundled_one(tmp_path: Path) -> None:
    broken = tmp_path / "bin" / "claude"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    choice = choose_cli(None, str(broken.parent), ENV)
    assert choice.source == "bundled" and choice.notice
    assert "did not answer --version" in choice.reason
    assert str(tmp_path) not in choice.chat_line()


@pytest.mark.parametrize("version", ["1.0.0", "999.0.0"])
def test_the_operators_cli_is_used_even_when_older(tmp_path: Path, version: str) -> None:
    mine = user_claude(tmp_path / "mine", version=version)
    user_claude(tmp_path / "bin", version="999.9.9")
    choice = choose_cli(mine, str(tmp_path / "bin"), ENV)
    assert choice.source == "BATON_CLAUDE_CLI" and choice.path == mine
    assert choice.notice == (version == "1.0.0")


def test_an_operators_cli_that_does_not_run_falls_back_and_says_so(tmp_path: Path) -> None:
    choice = choose_cli(tmp_path / "missing" / "claude", "", ENV)
    assert choice.source == "bundled" and choice.notice
    assert "BATON_CLAUDE_CLI" in choice.reason
