"""BATON_DATA_DIR and everything under it are private from the first start, whatever
the umask, and `baton doctor` says when something there is open to others."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat_adapters.cli.doctor import run_doctor
from tests.e2e.telegram.conftest import Baton, answer, bot_settings
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.scripted_runner import ScriptedRunner
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.usefixtures("unpaced")
"""Unpaced: these tests are about what the chat shows, not about pacing."""


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


async def test_everything_under_the_data_dir_is_private_from_the_start(
    tg: FakeTelegram,
    claude_env: ClaudeEnv,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
    open_umask: None,
) -> None:
    data = tmp_path / "fresh" / "data"
    settings = bot_settings(tg, claude_env, data)
    async with Baton(settings, tg, turns=scripted_runner):
        sent = tg.send_user_message(4242, 4242, "read this", document=("notes.md", b"# hi\n"))
        await answer(tg, "read this", after=sent)
    found = modes(data)
    assert any(name.startswith("inbox/") for name in found), found
    assert "baton.sqlite3" in found and "claims" in found and "run" in found
    open_ = {n: oct(m) for n, m in found.items() if m not in (0o700, 0o600)}
    assert open_ == {}, open_
    assert found["."] == 0o700


async def test_doctor_warns_about_an_open_data_dir_with_the_fix(
    claude_env: ClaudeEnv, tg: FakeTelegram, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    settings = bot_settings(tg, claude_env, data)
    await run_doctor(settings)
    assert f"ok  data dir: {data} is private" in capsys.readouterr().out
    (data / "inbox").mkdir(mode=0o700, exist_ok=True)
    (data / "inbox" / "leaked.txt").write_text("x")
    (data / "inbox" / "leaked.txt").chmod(0o644)
    await run_doctor(settings)
    out = capsys.readouterr().out
    assert "warn  data dir: 1 path(s)" in out and f"chmod -R go-rwx {data}" in out
