"""`baton service`: the systemd unit and launchd agent it writes, checked by their tools."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chat_adapters.service import ServicePlan, launchd_plist, plan_for, systemd_unit


def _baton(tmp_path: Path, *args: str, path: str) -> subprocess.CompletedProcess[str]:
    """`baton` with HOME under ``tmp_path``, run in ``tmp_path/work`` (its .env there)."""
    (tmp_path / "work").mkdir(exist_ok=True)
    env = {
        "PATH": path,
        "HOME": str(tmp_path / "home"),
        "BATON_DATA_DIR": str(tmp_path / "data"),
        "CLAUDE_CONFIG_DIR": str(tmp_path / "home" / ".claude"),
    }
    return subprocess.run(
        [sys.executable, "-m", "chat_adapters", *args],
        cwd=tmp_path / "work",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _plan(tmp_path: Path, version: int | None) -> ServicePlan:
    return ServicePlan(
        "systemd",
        (sys.executable, "-m", "chat_adapters", "run"),
        tmp_path / "my bot",
        "/opt/100%/bin:/usr/bin",
        tmp_path / "claude-baton.service",
        systemd_version=version,
    )


def test_the_unit_backs_off_on_new_systemd_and_waits_longer_on_old(tmp_path: Path) -> None:
    new = systemd_unit(_plan(tmp_path, 255))
    assert "RestartSteps=8" in new and "RestartMaxDelaySec=5min" in new
    old = systemd_unit(_plan(tmp_path, 252))
    assert "RestartSteps" not in old and "RestartSec=15s" in old
    for unit in (new, old):
        assert "Restart=on-failure" in unit and "RestartPreventExitStatus=2" in unit
        assert f'WorkingDirectory="{tmp_path / "my bot"}"' in unit
        assert 'Environment="PATH=/opt/100%%/bin:/usr/bin"' in unit
        assert f"ExecStart={sys.executable} -m chat_adapters run" in unit
        assert "StandardError=journal" in unit


def test_dry_run_prints_a_unit_systemd_analyze_accepts(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / ".env").write_text("TELEGRAM_BOT_TOKEN=1:x\n")
    done = _baton(tmp_path, "service", "install", "--dry-run", path=os.environ["PATH"])
    assert done.returncode == 0, done.stderr
    header, _, unit = done.stdout.partition("\n")
    assert header == f"# {tmp_path / 'home' / '.config/systemd/user/claude-baton.service'}"
    assert "1:x" not in unit  # the token stays in .env
    assert f"WorkingDirectory={tmp_path / 'work'}" in unit
    assert not (tmp_path / "home" / ".config").exists()  # a dry run writes nothing
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit_file = tmp_path / "claude-baton.service"
    unit_file.write_text(unit)
    checked = subprocess.run(
        [analyze, "verify", str(unit_file)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr
    assert "claude-baton.service" not in checked.stderr, checked.stderr  # no warning about it


def test_install_without_systemctl_writes_the_unit_and_says_what_failed(tmp_path: Path) -> None:
    bare = str(Path(sys.executable).parent)  # the venv's bin: no systemctl there
    done = _baton(tmp_path, "service", "install", path=bare)
    assert done.returncode == 1
    assert "systemctl not found" in done.stderr
    unit = tmp_path / "home" / ".config" / "systemd" / "user" / "claude-baton.service"
    assert "ExecStart=" in unit.read_text()
    status = _baton(tmp_path, "service", "status", path=bare)
    assert status.returncode == 1 and "systemctl not found" in status.stderr
    removed = _baton(tmp_path, "service", "uninstall", path=bare)
    assert removed.returncode == 0, removed.stderr
    assert f"removed {unit}" in removed.stdout and not unit.exists()
    again = _baton(tmp_path, "service", "status", path=bare)
    assert again.returncode == 3 and "not installed" in again.stdout


def test_the_launchd_agent_restarts_after_failure_only(tmp_path: Path) -> None:
    plan = plan_for(
        workdir=tmp_path, search_path="/usr/bin", home=tmp_path / "home", platform="darwin"
    )
    assert plan.file == tmp_path / "home/Library/LaunchAgents/dev.claude-baton.plist"
    agent = plistlib.loads(launchd_plist(plan).encode())
    assert agent["ProgramArguments"] == [sys.executable, "-m", "chat_adapters", "run"]
    assert agent["KeepAlive"] == {"SuccessfulExit": False} and agent["RunAtLoad"] is True
    assert agent["WorkingDirectory"] == str(tmp_path)
    assert agent["EnvironmentVariables"] == {"PATH": "/usr/bin"}
    assert agent["StandardErrorPath"].endswith("Library/Logs/claude-baton.log")


def test_install_and_uninstall_drive_systemctl_in_order(tmp_path: Path) -> None:
    """A stand-in `systemctl` on PATH records what baton asks of it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "systemctl.log"
    fake = bin_dir / "systemctl"
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "systemd 256 (256.1)"; exit 0; fi\n'
        f'echo "$*" >> "{calls}"\n'
    )
    fake.chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}"
    done = _baton(tmp_path, "service", "install", path=path)
    assert done.returncode == 0, done.stderr
    assert "journalctl --user -u claude-baton" in done.stdout
    assert "loginctl enable-linger" in done.stdout
    unit = tmp_path / "home" / ".config" / "systemd" / "user" / "claude-baton.service"
    assert "RestartSteps=8" in unit.read_text()  # systemd 256 grows the delay
    assert calls.read_text().splitlines() == [
        "--user daemon-reload",
        "--user enable claude-baton.service",
        "--user restart claude-baton.service",
    ]
    calls.unlink()
    removed = _baton(tmp_path, "service", "uninstall", path=path)
    assert removed.returncode == 0, removed.stderr
    assert calls.read_text().splitlines() == [
        "--user disable --now claude-baton.service",
        "--user daemon-reload",
    ]
    assert not unit.exists()
