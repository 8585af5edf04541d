"""The modules behind `baton --version`, `setup`, `service` and `audit` load without the
SDK or a chat library (each costs seconds of start-up): they are imported lazily by the
commands, and must stay light themselves."""

from __future__ import annotations

import subprocess
import sys

LIGHT = (
    "session_core.claude_cli",
    "chat_adapters.version_info",
    "chat_adapters.service",
    "chat_adapters.service_cli",
    "chat_adapters.setup_wizard",
    "chat_adapters.platform_probe",
    "chat_adapters.env_file",
    "chat_adapters.audit_view",
    "chat_adapters.audit_cli",
)
HEAVY = ("claude_agent_sdk", "telegram", "discord")


def test_command_modules_do_not_import_the_sdk_or_chat_libraries() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {LIGHT!r}: importlib.import_module(name)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == ""
