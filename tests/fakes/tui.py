"""The real interactive `claude` TUI in tmux: what a person at the desk sees.

The TUI is seeded past its first-run dialogs (reference/claude-code-offline.md §6) and
runs detached in its own tmux server (``-L``), so it is no child of the test process:
to the bot it is a terminal like any other. The screen is read back with capture-pane.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType

from tests.fakes.claude_cli import ClaudeEnv, bundled_cli_path


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


def seed_tui_config(claude_env: ClaudeEnv, *projects: Path) -> None:
    """Skip onboarding, theme, API-key and trust dialogs for these projects."""
    path = claude_env.config_dir / ".claude.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    key = claude_env.env["ANTHROPIC_API_KEY"]
    data.update(
        {
            "hasCompletedOnboarding": True,
            "theme": "dark",
            "customApiKeyResponses": {"approved": [key[-20:]], "rejected": []},
        }
    )
    trusted = data.setdefault("projects", {})
    for project in projects:
        trusted.setdefault(str(project.resolve()), {})["hasTrustDialogAccepted"] = True
    path.write_text(json.dumps(data))


class Tui:
    """One `claude` TUI in a private tmux server; a context manager that kills it."""

    def __init__(self, claude_env: ClaudeEnv, cwd: Path, *args: str) -> None:
        self.socket = f"baton-test-{uuid.uuid4().hex[:8]}"
        self.claude_env = claude_env
        self.cwd = cwd
        self.args = args

    def __enter__(self) -> Tui:
        seed_tui_config(self.claude_env, self.cwd)
        env = " ".join(
            f"{name}={shlex.quote(value)}"
            for name, value in {
                "PATH": "/usr/bin:/bin",
                "TERM": "xterm-256color",
                **self.claude_env.env,
            }.items()
        )
        command = f"cd {shlex.quote(str(self.cwd))} && exec env -i {env} " + " ".join(
            shlex.quote(a) for a in (str(bundled_cli_path()), *self.args)
        )
        self._tmux("new-session", "-d", "-s", "main", "-x", "160", "-y", "45", command)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._tmux("kill-server", check=False)

    def screen(self) -> str:
        done = self._tmux("capture-pane", "-p", "-t", "main", check=False)
        return done.stdout

    def screen_ansi(self) -> str:
        """The screen with its colours (SGR escapes), for pictures of it."""
        return self._tmux("capture-pane", "-p", "-e", "-t", "main", check=False).stdout

    def wait_for(self, text: str, timeout_s: float = 30.0) -> str:
        """The screen once it shows ``text``; AssertionError with the screen otherwise."""
        deadline = time.monotonic() + timeout_s
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"the TUI never showed {text!r}; screen:\n{screen}")

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "main", "-l", text)

    def press(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "main", *keys)

    def pid(self) -> int:
        done = self._tmux("list-panes", "-t", "main", "-F", "#{pane_pid}")
        return int(done.stdout.split()[0])

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=check,
        )
