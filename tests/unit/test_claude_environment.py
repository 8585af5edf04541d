"""Issue 9, finding 3: the environment a Claude process gets holds nothing of the
bot's own, built in one place from the settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_adapters.settings import (
    claude_environment,
    load_settings,
    secret_setting_names,
    split_environment,
)

TOKEN = "123456:telegram-secret-token"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("BATON_", "TELEGRAM_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_every_secret_setting_is_withheld_by_name() -> None:
    assert {"TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN"} <= secret_setting_names()


def test_the_child_environment_drops_the_bots_own() -> None:
    settings = load_settings(TELEGRAM_BOT_TOKEN=TOKEN)
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "telegram_api_url": "x",
        "DISCORD_BOT_TOKEN": "d",
        "BATON_ALLOWED_USERS": "telegram:1",
        "BATON_TRANSCRIBE_API_KEY": "k",
        "IS_SANDBOX": "1",
        "SOME_COPY": f"Bearer {TOKEN}",
        "ANTHROPIC_API_KEY": "sk-ant-kept-for-claude",
    }
    assert claude_environment(settings, environ) == {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "ANTHROPIC_API_KEY": "sk-ant-kept-for-claude",
    }


def test_split_removes_them_from_the_bots_own_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("BATON_VERBOSITY", "2")
    monkeypatch.setenv("KEPT_FOR_CLAUDE", "yes")
    settings = load_settings()
    child = split_environment(settings)
    assert "TELEGRAM_BOT_TOKEN" not in os.environ and "BATON_VERBOSITY" not in os.environ
    assert child["KEPT_FOR_CLAUDE"] == "yes" and "TELEGRAM_BOT_TOKEN" not in child
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == TOKEN, "settings keep it"


@given(
    environ=st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True), st.text(max_size=40)
    ),
    prefix=st.text(max_size=5),
)
def test_no_child_value_carries_the_token(environ: dict[str, str], prefix: str) -> None:
    settings = load_settings(TELEGRAM_BOT_TOKEN=TOKEN)
    child = claude_environment(settings, {**environ, "X": prefix + TOKEN})
    assert all(TOKEN not in value for value in child.values())
    assert not any(name.upper().startswith(("TELEGRAM_", "DISCORD_", "BATON_")) for name in child)
