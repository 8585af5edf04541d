"""The built wheel installs into a fresh virtual environment and `baton` works there.

Offline, as CI runs it: the wheel is built with the dev environment's hatchling and
hatch-vcs (no build isolation, no download), its dependencies come from uv.lock through
uv's cache (``uv sync --frozen`` filled it), and the wheel itself goes in with
``--no-deps``; ``uv pip check`` then proves the locked set satisfies what it requires.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _uv() -> list[str]:
    """uv as CI has it: on PATH, or installed with pip into the system Python (.ci/run)."""
    found = shutil.which("uv")
    if found:
        return [found]
    python = shutil.which("python3")
    if python and subprocess.run([python, "-m", "uv", "--version"], check=False).returncode == 0:
        return [python, "-m", "uv"]
    pytest.skip("uv is not installed")


def _run(args: list[str], env: dict[str, str] | None = None, cwd: Path = REPO) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``bin/`` of a fresh venv holding the built wheel and the locked dependencies."""
    uv = _uv()
    root = tmp_path_factory.mktemp("wheel")
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    _run(
        [
            *uv,
            "build",
            "--wheel",
            "--no-build-isolation",
            "--python",
            sys.executable,
            "--out-dir",
            str(root / "dist"),
        ],
        env,
    )
    wheels = list((root / "dist").glob("claude_baton-*.whl"))
    assert len(wheels) == 1, wheels
    venv = root / "venv"
    _run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env)
    _run(
        [*uv, "sync", "--frozen", "--no-dev", "--no-install-project", "--offline", "--quiet"],
        {**env, "UV_PROJECT_ENVIRONMENT": str(venv)},
    )
    python = str(venv / "bin" / "python")
    _run(
        [
            *uv,
            "pip",
            "install",
            "--offline",
            "--no-deps",
            "--quiet",
            "--python",
            python,
            str(wheels[0]),
        ],
        env,
    )
    _run([*uv, "pip", "check", "--python", python], env)
    yield venv / "bin"


def _baton(bin_dir: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `baton`, run from an empty directory with an isolated home."""
    for d in ("home", "work"):
        (tmp_path / d).mkdir(exist_ok=True)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "CLAUDE_CONFIG_DIR": str(tmp_path / "home" / ".claude"),
        "BATON_DATA_DIR": str(tmp_path / "data"),
        "BATON_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [str(bin_dir / "baton"), *args],
        cwd=tmp_path / "work",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_installed_baton_answers_help_and_version(installed: Path, tmp_path: Path) -> None:
    helped = _baton(installed, tmp_path, "--help")
    assert helped.returncode == 0, helped.stderr
    assert "doctor" in helped.stdout and "run" in helped.stdout
    version = _baton(installed, tmp_path, "--version")
    assert version.returncode == 0, version.stderr
    lines = version.stdout.splitlines()
    assert lines[0].startswith("claude-baton ") and "not installed" not in lines[0]
    assert lines[1].startswith("claude-agent-sdk 0.2.187 (bundled Claude Code 2.1.330)")
    assert "bundled" in lines[2]


def test_the_installed_baton_runs_doctor(installed: Path, tmp_path: Path) -> None:
    doctor = _baton(installed, tmp_path, "doctor")
    assert doctor.returncode == 1, doctor.stderr  # no app token yet: the bot cannot run
    assert "ok  bundled claude CLI: 2.1.330" in doctor.stdout
    assert "FAIL  apps" in doctor.stdout
    assert "ok  database" in doctor.stdout


def test_the_installed_baton_offers_setup_and_service(installed: Path, tmp_path: Path) -> None:
    setup = _baton(installed, tmp_path, "setup", "--help")
    assert setup.returncode == 0, setup.stderr
    assert "Walk through what is missing" in setup.stdout
    unit = _baton(installed, tmp_path, "service", "install", "--dry-run")
    assert unit.returncode == 0, unit.stderr
    assert f"ExecStart={installed / 'python'} -m chat_adapters run" in unit.stdout
