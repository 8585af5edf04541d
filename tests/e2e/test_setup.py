"""`baton setup` and `baton doctor` against the fake Telegram Bot API and fake Discord:
answers piped in as a person types them, `.env` written 0600, tokens proved to work."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_adapters.env_file import read_env
from chat_adapters.platform_probe import discord_invite_url, discord_permissions
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.discord_state import INTENT_GUILD_MEMBERS
from tests.fakes.telegram_api import FakeTelegram

USER = 4242


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


async def _baton(
    tmp_path: Path, *args: str, answers: str = "", **extra: str
) -> tuple[int, str, str]:
    """`baton` as a process (this loop keeps serving the fakes), in ``tmp_path/work``."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "CLAUDE_CONFIG_DIR": str(tmp_path / "home" / ".claude"),
        "BATON_DATA_DIR": str(tmp_path / "data"),
        "BATON_LOG_LEVEL": "WARNING",
        **extra,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chat_adapters",
        *args,
        cwd=work,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(answers.encode()), timeout=90)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_setup_walks_through_both_apps_and_writes_a_private_env(
    tg: FakeTelegram, dc: FakeDiscord, tmp_path: Path
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    tg.send_user_message(USER, USER, "hi, it's me")  # the message setup listens for
    answers = [
        "999:wrong-token",  # refused by getMe: asked again
        tg.token,
        dc.token,
        "y",  # find my Telegram id by sending a message
        "y",  # allow it
        "",  # no more Telegram ids
        "777, not-a-number",  # Discord ids
        str(project),
    ]
    urls = {"TELEGRAM_API_URL": tg.root_url, "DISCORD_API_URL": dc.api_url}
    code, out, err = await _baton(
        tmp_path, "setup", "--listen-timeout", "20", answers="\n".join(answers) + "\n", **urls
    )
    assert code == 0, out + err
    assert "@BotFather" in out and "Group Privacy" in out
    assert "That token did not work: HTTP 401" in out
    assert f"ok: the token works for @{tg.bot_username}" in out
    assert f"Message from User{USER}: user id {USER}" in out
    assert "Message Content Intent" in out and "Developer Mode" in out
    assert discord_invite_url(str(dc.world.application_id)) in out
    assert "Ignored (not a numeric id): not-a-number" in out
    assert tg.token not in out + err and dc.token not in out + err
    assert tg.pending_update_count == 0  # consumed: the bot will not answer it later

    env_file = tmp_path / "work" / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert read_env(env_file) == {
        "TELEGRAM_BOT_TOKEN": tg.token,
        "DISCORD_BOT_TOKEN": dc.token,
        "BATON_ALLOWED_USERS": f"discord:777,telegram:{USER}",
        "BATON_ROOTS": str(project.resolve()),
    }

    code, out, err = await _baton(tmp_path, "doctor", **urls)
    assert f"ok  telegram token: @{tg.bot_username}" in out, out + err
    assert f"ok  discord token: application 'baton' ({dc.world.application_id})" in out
    assert "ok  discord intent: Message Content on" in out
    assert "telegram users:" not in out and "discord users:" not in out  # both allowed
    assert "warn  .env" not in out  # private
    assert "BATON_ROOTS" not in out  # set by setup
    assert tg.token not in out + err and dc.token not in out + err


def test_the_invite_url_asks_for_exactly_what_the_bot_uses() -> None:
    url = discord_invite_url("123")
    assert url.startswith("https://discord.com/oauth2/authorize?client_id=123&")
    assert "scope=bot+applications.commands" in url
    # view, send, attach, history, create public threads, send in threads
    assert discord_permissions() == 1024 + 2048 + 32768 + 65536 + (1 << 35) + (1 << 38)
    assert f"permissions={discord_permissions()}" in url


async def test_a_second_run_keeps_what_works_and_doctor_flags_what_is_missing(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env_file = work / ".env"
    env_file.write_text(f"# mine\nTELEGRAM_BOT_TOKEN={tg.token}\nBATON_LOG_LEVEL=WARNING\n")
    env_file.chmod(0o644)
    urls = {"TELEGRAM_API_URL": tg.root_url, "DISCORD_API_URL": "http://127.0.0.1:9/api"}

    code, out, err = await _baton(tmp_path, "doctor", **urls)
    assert "warn  telegram users: no telegram:<id> in BATON_ALLOWED_USERS" in out, out + err
    assert f"warn  .env: {env_file} is readable by others" in out
    assert "warn  BATON_ROOTS: not set: the bot works only in the current directory" in out

    # skip Discord; no listening; type the id; no roots offered (the cwd holds .env), so
    # an empty answer is asked again
    answers = ["", "n", "5", "", "", str(work)]
    code, out, err = await _baton(tmp_path, "setup", answers="\n".join(answers) + "\n", **urls)
    assert code == 0, out + err
    assert "@BotFather" not in out  # the token in .env works: no steps for it
    assert "Skipped Discord" in out
    assert "Not a directory: (none given)" in out and "[Y/n] [y]" not in out
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    text = env_file.read_text()
    assert text.startswith("# mine\n") and "BATON_LOG_LEVEL=WARNING" in text
    assert read_env(env_file)["BATON_ALLOWED_USERS"] == "telegram:5"


async def test_doctor_says_when_the_message_content_intent_is_off(tmp_path: Path) -> None:
    async with FakeDiscord(privileged_intents=INTENT_GUILD_MEMBERS) as dc:
        code, out, err = await _baton(
            tmp_path,
            "doctor",
            DISCORD_BOT_TOKEN=dc.token,
            DISCORD_API_URL=dc.api_url,
            BATON_ALLOWED_USERS="discord:1",
        )
    assert code == 0 and "warn  discord intent: Message Content off" in out, out + err
    bad_code, bad, _ = await _baton(
        tmp_path, "doctor", DISCORD_BOT_TOKEN="nope", DISCORD_API_URL=dc.api_url
    )
    assert bad_code == 1 and "FAIL  discord token: application lookup failed" in bad


async def test_doctor_and_setup_say_when_privacy_mode_is_on(tmp_path: Path) -> None:
    async with FakeTelegram(privacy_mode=True) as tg:
        urls = {"TELEGRAM_API_URL": tg.root_url, "DISCORD_API_URL": "http://127.0.0.1:9/api"}
        _code, out, err = await _baton(tmp_path, "doctor", TELEGRAM_BOT_TOKEN=tg.token, **urls)
        assert f"ok  telegram token: @{tg.bot_username} (privacy mode on" in out, out + err
        answers = [tg.token, "", "n", "", "", str(tmp_path)]
        code, out, err = await _baton(tmp_path, "setup", answers="\n".join(answers) + "\n", **urls)
        assert code == 0, out + err
        assert "Privacy mode is on" in out
