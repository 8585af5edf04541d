"""`baton service install|status|uninstall`: `baton run` as a user service.

Linux gets a systemd user unit, macOS a launchd agent. Either runs ``baton run`` in the
directory whose ``.env`` holds the settings, with the ``PATH`` of the shell that
installed it (so the service finds the same ``claude`` as the terminal), restarts it
after a failure with a growing delay, and leaves the logs to the journal (macOS: a log
file). Exit status 2 (a bad setting, the token already in use) is not retried: restarting
would not fix it. The unit names no secret: tokens stay in the ``.env`` file.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

NAME = "claude-baton"
LAUNCHD_LABEL = "dev.claude-baton"
BACKOFF_SYSTEMD = 254
"""First systemd with ``RestartSteps``/``RestartMaxDelaySec`` (a growing restart delay)."""

Kind = Literal["systemd", "launchd"]


class ServiceError(Exception):
    """A step that failed, phrased for the person at the terminal."""


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """What the service runs and where its file goes."""

    kind: Kind
    command: tuple[str, ...]
    workdir: Path
    search_path: str
    file: Path
    log_file: Path | None = None
    systemd_version: int | None = None


def plan_for(
    *, workdir: Path, search_path: str, home: Path, platform: str = sys.platform
) -> ServicePlan:
    """The plan for this machine: the running interpreter runs ``-m chat_adapters run``."""
    command = (sys.executable, "-m", "chat_adapters", "run")
    if platform == "darwin":
        return ServicePlan(
            "launchd",
            command,
            workdir,
            search_path,
            home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist",
            log_file=home / "Library" / "Logs" / f"{NAME}.log",
        )
    unit = home / ".config" / "systemd" / "user" / f"{NAME}.service"
    return ServicePlan(
        "systemd", command, workdir, search_path, unit, systemd_version=systemd_version()
    )


def systemd_version() -> int | None:
    """The installed systemd's version number, or None without systemctl."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return None
    try:
        done = subprocess.run(
            [systemctl, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.match(r"systemd (\d+)", done.stdout)
    return int(found.group(1)) if found else None


def render(plan: ServicePlan) -> str:
    return systemd_unit(plan) if plan.kind == "systemd" else launchd_plist(plan)


def _quote(word: str) -> str:
    """One systemd command-line word (quotes and backslashes escaped, % doubled)."""
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"' if any(c in word for c in ' "\\\t') else escaped


def systemd_unit(plan: ServicePlan) -> str:
    """The user unit. The restart delay grows on systemd 254+; older ones get a fixed,
    longer delay (they would ignore, with a warning, the keys that make it grow)."""
    if plan.systemd_version is None or plan.systemd_version >= BACKOFF_SYSTEMD:
        restart = ["RestartSec=2s", "RestartSteps=8", "RestartMaxDelaySec=5min"]
    else:
        restart = ["RestartSec=15s"]
    path = plan.search_path.replace("%", "%%").replace('"', '\\"')
    lines = [
        "[Unit]",
        "Description=claude-baton: Claude Code sessions from Telegram and Discord",
        "After=network-online.target",
        "Wants=network-online.target",
        "# Keep trying after repeated failures (the network may be down for long).",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=exec",
        f"WorkingDirectory={_quote(str(plan.workdir))}",
        f'Environment="PATH={path}"',
        f"ExecStart={' '.join(_quote(word) for word in plan.command)}",
        "Restart=on-failure",
        *restart,
        "# Exit 2 is a bad setting or a token already in use: a restart cannot fix it.",
        "RestartPreventExitStatus=2",
        "# SIGTERM lets running turns finish their replies first.",
        "TimeoutStopSec=90s",
        "StandardOutput=journal",
        "StandardError=journal",
        f"SyslogIdentifier={NAME}",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ]
    return "\n".join(lines)


def launchd_plist(plan: ServicePlan) -> str:
    """The launch agent: restarted after a non-zero exit, at most every 30 s."""
    log = str(plan.log_file) if plan.log_file else "/dev/null"
    agent = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(plan.command),
        "WorkingDirectory": str(plan.workdir),
        "EnvironmentVariables": {"PATH": plan.search_path},
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 30,
        "ProcessType": "Background",
        "StandardOutPath": log,
        "StandardErrorPath": log,
    }
    return plistlib.dumps(agent).decode("utf-8")


def install(plan: ServicePlan) -> list[str]:
    """Write the file and start the service; returns what to tell the person."""
    plan.file.parent.mkdir(parents=True, exist_ok=True)
    plan.file.write_text(render(plan), encoding="utf-8")
    said = [f"wrote {plan.file}"]
    if plan.kind == "systemd":
        _run("systemctl", "--user", "daemon-reload")
        _run("systemctl", "--user", "enable", f"{NAME}.service")
        # restart, not start: an install over a running service applies the new unit
        _run("systemctl", "--user", "restart", f"{NAME}.service")
        said += [
            f"started {NAME}.service; logs: journalctl --user -u {NAME} -f",
            "to keep it running after you log out and across reboots: loginctl enable-linger $USER",
        ]
    else:
        _call(["launchctl", "bootout", f"gui/{_uid()}/{LAUNCHD_LABEL}"])  # a previous one
        _run("launchctl", "bootstrap", f"gui/{_uid()}", str(plan.file))
        said.append(f"loaded {LAUNCHD_LABEL}; logs: {plan.log_file}")
    return said


def status(plan: ServicePlan) -> tuple[int, str]:
    """The service manager's own status report and its exit status."""
    if not plan.file.exists():
        return 3, f"not installed ({plan.file} does not exist)"
    if plan.kind == "systemd":
        args = ["systemctl", "--user", "status", "--no-pager", f"{NAME}.service"]
    else:
        args = ["launchctl", "print", f"gui/{_uid()}/{LAUNCHD_LABEL}"]
    done = _call(args)
    return done.returncode, (done.stdout + done.stderr).strip()


def uninstall(plan: ServicePlan) -> list[str]:
    """Stop the service (when its manager is there to ask) and remove its file."""
    if not plan.file.exists():
        return [f"not installed ({plan.file} does not exist)"]
    said = []
    try:
        if plan.kind == "systemd":
            _call(["systemctl", "--user", "disable", "--now", f"{NAME}.service"])
        else:
            _call(["launchctl", "bootout", f"gui/{_uid()}/{LAUNCHD_LABEL}"])
    except ServiceError as exc:
        said.append(f"could not stop it: {exc}")
    plan.file.unlink()
    if plan.kind == "systemd":
        with contextlib.suppress(ServiceError):
            _call(["systemctl", "--user", "daemon-reload"])
    return [*said, f"removed {plan.file}"]


def _uid() -> int:
    return os.getuid()


def _call(args: list[str]) -> subprocess.CompletedProcess[str]:
    if shutil.which(args[0]) is None:
        raise ServiceError(f"{args[0]} not found: is this a {args[0]}-managed system?")
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def _run(*args: str) -> None:
    done = _call(list(args))
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ServiceError(f"{' '.join(args)} failed: {detail[-1] if detail else done.returncode}")
