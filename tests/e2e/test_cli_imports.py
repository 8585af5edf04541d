"""Each `baton` command imports only what it needs: run with the rest made unimportable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.claude_cli import history_line, isolated_claude_env

SDK_AND_CHATS = ("claude_agent_sdk", "mcp", "telegram", "discord")
# What the quick path also leaves alone: pydantic (settings), structlog and rich (logging),
# psutil (asked only when some `claude` is live).
HEAVY = (*SDK_AND_CHATS, "pydantic", "pydantic_settings", "structlog", "rich", "psutil")

GUARDED = """
import importlib.machinery
import sys

class Refuse:
    # Found as usual (importlib.util.find_spec works), but executing it fails.

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in BLOCKED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None:
            spec.loader = self
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise ImportError(f"{module.__name__} must not be imported here")

sys.meta_path.insert(0, Refuse())
sys.argv = ["baton", *ARGS]
from chat_adapters.__main__ import cli
cli(prog_name="baton")
"""


def run_guarded(
    tmp_path: Path, blocked: tuple[str, ...], *args: str, keep: bool = False, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``baton *args`` with ``blocked`` unimportable, over a small history (``keep``: the
    one already written)."""
    world = isolated_claude_env(tmp_path / "claude", "http://127.0.0.1:9")
    sid = "aaaaaaaa-0000-4000-8000-000000000001"
    if not keep:
        (world.config_dir / "history.jsonl").write_bytes(
            history_line("hello", 1, str(world.project), sid)
            + history_line("elsewhere", 2, str(world.home), None)
        )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **world.env,
        "BATON_ROOTS": str(world.project),
        "BATON_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }
    script = f"BLOCKED = {blocked!r}\nARGS = {list(args)!r}\n" + GUARDED
    return subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=world.project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    done = run_guarded(tmp_path, HEAVY, "--help")
    assert done.returncode == 0, done.stderr
    assert "sessions" in done.stdout


@pytest.mark.parametrize("args", [["sessions"], ["sessions", "--json", "--limit", "1"]])
def test_sessions_imports_nothing_heavy(tmp_path: Path, args: list[str]) -> None:
    done = run_guarded(tmp_path, HEAVY, *args)
    assert done.returncode == 0, done.stderr
    assert "aaaaaaaa" in done.stdout and done.stderr == ""


def test_sessions_all_and_verbose_import_no_sdk_or_chat_library(tmp_path: Path) -> None:
    done = run_guarded(tmp_path, SDK_AND_CHATS, "-v", "sessions", "--all", "--json")
    assert done.returncode == 0, done.stderr
    assert [s["session_id"][:8] for s in json.loads(done.stdout)] == ["aaaaaaaa"]


def test_a_bad_setting_still_stops_sessions(tmp_path: Path) -> None:
    done = run_guarded(tmp_path, SDK_AND_CHATS, "sessions", BATON_VERBOSITY="9")
    assert done.returncode == 2 and "BATON_VERBOSITY" in done.stderr


def test_doctor_imports_no_sdk_or_chat_library(tmp_path: Path) -> None:
    done = run_guarded(tmp_path, SDK_AND_CHATS, "doctor", TELEGRAM_BOT_TOKEN="1:x")
    # No Telegram API answers here: the token check is the one FAIL; nothing else fails.
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert "claude CLI" in done.stdout, done.stdout + done.stderr
    assert [line.split(":")[0] for line in failed] == ["FAIL  telegram token"], done.stdout


def test_shell_completion_imports_nothing_heavy(tmp_path: Path) -> None:
    done = run_guarded(
        tmp_path,
        HEAVY,
        _BATON_COMPLETE="complete_bash",
        _TYPER_COMPLETE_ARGS="baton ses",
        COMP_WORDS="baton ses",
        COMP_CWORD="1",
    )
    assert done.returncode == 0, done.stderr
    assert "sessions" in done.stdout


def imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    return {name.split(".")[0] for name in out}


def test_ask_imports_no_chat_library_and_the_sdk_only_when_it_connects() -> None:
    loaded = imported_after("import chat_adapters.cli.ask")
    assert not loaded & {"telegram", "discord", "claude_agent_sdk"}


@pytest.mark.parametrize(("app", "other"), [("telegram", "discord"), ("discord", "telegram")])
def test_run_imports_only_the_configured_app(app: str, other: str) -> None:
    loaded = imported_after(
        "import chat_adapters.cli.run\n"
        "from chat_adapters.app import _app_runner\n"
        "from chat_adapters.background import BackgroundTasks\n"
        "from chat_adapters.settings import load_settings\n"
        "from chat_adapters.voice import VoicePrompts\n"
        f"_app_runner({app!r}, load_settings(TELEGRAM_BOT_TOKEN='1:x', DISCORD_BOT_TOKEN='y'), "
        "VoicePrompts(None), BackgroundTasks())"
    )
    assert app in loaded and other not in loaded


def test_all_from_the_cache_prints_what_a_fresh_build_prints(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run_guarded(tmp_path, SDK_AND_CHATS, "sessions", "--all", "--json",
                        BATON_CACHE_DIR=str(cache))  # fmt: skip
    assert first.returncode == 0, first.stderr
    deadline = time.monotonic() + 30  # the cache is written after the answer
    while not list(cache.glob("history-index-*.bin")) and time.monotonic() < deadline:
        time.sleep(0.05)
    history = tmp_path / "claude" / "cfg" / "history.jsonl"
    with history.open("ab") as handle:
        handle.write(history_line("later", 3, "/elsewhere", "bbbbbbbb-0000-4000-8000-000000000002"))
    env = {"BATON_CACHE_DIR": str(cache)}
    cached = run_guarded(tmp_path, HEAVY, "sessions", "--all", "--json", keep=True, **env)
    fresh = run_guarded(tmp_path, SDK_AND_CHATS, "sessions", "--all", "--json", keep=True,
                        BATON_CACHE_DIR=str(tmp_path / "other"))  # fmt: skip
    assert cached.returncode == 0, cached.stderr
    assert cached.stdout == fresh.stdout
    assert [s["session_id"][:8] for s in json.loads(cached.stdout)] == ["bbbbbbbb", "aaaaaaaa"]


def test_all_on_a_big_history_prints_what_a_serial_build_prints(tmp_path: Path) -> None:
    """Over ``MIN_SPLIT_BYTES`` the first ``--all`` build is split over the CPUs."""
    from chat_adapters.cli.sessions import json_text
    from session_core.catalog import SessionCatalog
    from session_core.claude_home import ClaudeHome
    from session_core.history_split import MIN_SPLIT_BYTES

    run_guarded(tmp_path, SDK_AND_CHATS, "--help")  # lays out the isolated world
    config = tmp_path / "claude" / "cfg"
    pad = "x" * 200
    lines = [
        # Every session has lines all through the file: the pieces must be joined.
        history_line(f"{i % 7} {pad}", i, f"/w/p{i % 13}", f"{i % 997:08x}-0000-4000-8000-0")
        for i in range(MIN_SPLIT_BYTES // 250)
    ]
    (config / "history.jsonl").write_bytes(b"".join(lines))
    assert (config / "history.jsonl").stat().st_size > MIN_SPLIT_BYTES
    done = run_guarded(tmp_path, SDK_AND_CHATS, "sessions", "--all", "--json", keep=True,
                       BATON_CACHE_DIR=str(tmp_path / "cache"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = json_text(SessionCatalog(ClaudeHome(config)).list()) + "\n"
    assert done.stdout == expected


def test_a_lone_surrogate_in_history_is_printed_escaped_in_every_form(tmp_path: Path) -> None:
    """JavaScript writes an emoji cut in half as a lone ``\\ud83d``; Python cannot encode it."""
    run_guarded(tmp_path, SDK_AND_CHATS, "--help")
    config = tmp_path / "claude" / "cfg"
    project = tmp_path / "claude" / "proj"
    (config / "history.jsonl").write_bytes(
        b'{"display":"cut \\ud83d emoji","pastedContents":{},"timestamp":1700000000000,'
        b'"project":"' + str(project).encode() + b'",'
        b'"sessionId":"aaaaaaaa-0000-4000-8000-000000000001"}\n'
    )
    cache = {"BATON_CACHE_DIR": str(tmp_path / "cache")}
    forms = [["sessions", "--json"], ["sessions", "--all", "--json"]]
    for args in [*forms, forms[1]]:  # --all twice: the build, then from the cache
        done = run_guarded(tmp_path, SDK_AND_CHATS, *args, keep=True, **cache)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)[0]["first_prompt"] == "cut \ud83d emoji"
        assert "\\ud83d" in done.stdout
        deadline = time.monotonic() + 30  # the cache is written after the answer
        while "--all" in args and not list((tmp_path / "cache").glob("*.bin")):
            assert time.monotonic() < deadline, "the cache was never written"
            time.sleep(0.05)
    for args in (["sessions"], ["sessions", "--all"]):
        done = run_guarded(tmp_path, SDK_AND_CHATS, *args, keep=True, **cache)
        assert done.returncode == 0, done.stderr
        assert "cut \\ud83d emoji" in done.stdout
