"""Settings: every bad value stops start-up with one line naming the setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chat_adapters.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("BATON_", "TELEGRAM_", "DISCORD_", "CLAUDE_CONFIG_DIR", "ANTHROPIC_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("HOME", str(tmp_path))


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.roots == (tmp_path.resolve(),)
    assert settings.claude_config_dir == tmp_path / ".claude"
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.allowed_users == frozenset()
    assert settings.configured_apps() == ()


def test_values_from_env_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    monkeypatch.setenv("BATON_ROOTS", f"{a}{os.pathsep}{b}")
    monkeypatch.setenv("BATON_ALLOWED_USERS", "telegram:12, discord:34 ,")
    (tmp_path / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=123:abc\nCLAUDE_CONFIG_DIR=~/cfg\nANTHROPIC_API_KEY=sk-x\n"
    )
    settings = load_settings()
    assert settings.roots == (a.resolve(), b.resolve())
    assert settings.allowed_users == {("telegram", "12"), ("discord", "34")}
    assert settings.configured_apps() == ("telegram",)
    assert settings.claude_config_dir == tmp_path / "cfg"
    assert settings.secrets() == ("123:abc", "sk-x")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "BATON_ROOTS",
            "/definitely/not/here",
            "BATON_ROOTS: /definitely/not/here is not a directory",
        ),
        ("BATON_ALLOWED_USERS", "slack:1", "BATON_ALLOWED_USERS: 'slack:1' is not"),
        ("BATON_ALLOWED_USERS", "telegram:abc", "BATON_ALLOWED_USERS: 'telegram:abc' is not"),
        ("BATON_VERBOSITY", "3", "BATON_VERBOSITY:"),
        ("BATON_MAX_TURNS", "0", "BATON_MAX_TURNS:"),
        ("DISCORD_GUILD_ID", "guild", "DISCORD_GUILD_ID:"),
        ("BATON_PERMISSION_MODE", "yolo", "BATON_PERMISSION_MODE:"),
    ],
)
def test_bad_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_empty_claude_config_dir_means_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", "")
    assert load_settings().claude_config_dir == tmp_path / ".claude"


# --------------------------------------------------------------------------- quick reader


def test_quick_reader_knows_every_setting() -> None:
    from chat_adapters.quick_settings import PARSERS
    from chat_adapters.settings import Settings

    assert set(PARSERS) == {field.alias for field in Settings.model_fields.values()}, (
        "a new Settings field needs its entry in chat_adapters/quick_settings.PARSERS"
    )


def test_quick_reader_agrees_with_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from chat_adapters.quick_settings import quick_settings

    a = tmp_path / "a"
    a.mkdir()
    monkeypatch.setenv("BATON_ROOTS", f"{a}{os.pathsep}{tmp_path}")
    monkeypatch.setenv("baton_log_level", "WARNING")
    monkeypatch.setenv("BATON_ALLOWED_USERS", "telegram:12, discord:34 ,")
    (tmp_path / ".env").write_text(
        "# comment\nTELEGRAM_BOT_TOKEN='123:abc'\nCLAUDE_CONFIG_DIR=~/cfg\nBATON_LOG_LEVEL=DEBUG\n"
    )
    full, quick = load_settings(), quick_settings()
    assert quick is not None
    assert quick.roots == full.roots
    assert quick.claude_config_dir == full.claude_config_dir == tmp_path / "cfg"
    assert quick.cache_dir == full.cache_dir
    assert quick.log_level == full.log_level == "WARNING"  # the environment wins over .env
    assert quick.secrets == full.secrets() == ("123:abc",)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BATON_ROOTS", "/definitely/not/here"),
        ("BATON_ROOTS", ""),
        ("BATON_ALLOWED_USERS", "slack:1"),
        ("BATON_VERBOSITY", "3"),
        ("BATON_MAX_TURNS", "0"),
        ("BATON_MAX_BUDGET_USD", "-1"),
        ("DISCORD_GUILD_ID", "guild"),
        ("BATON_ALLOW_BYPASS", "maybe"),
        ("BATON_PERMISSION_MODE", "yolo"),
        ("BATON_LOG_LEVEL", "LOUD"),
    ],
)
def test_quick_reader_leaves_bad_values_to_settings(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    from chat_adapters.quick_settings import quick_settings

    monkeypatch.setenv(name, value)
    assert quick_settings() is None
    with pytest.raises(SettingsError, match=name):
        load_settings()


@pytest.mark.parametrize("line", ['X="a\\nb"', "X=${HOME}", "X=a # note", "X='open"])
def test_quick_reader_leaves_fancy_dotenv_to_settings(tmp_path: Path, line: str) -> None:
    from chat_adapters.quick_settings import quick_settings

    (tmp_path / ".env").write_text(line + "\n")
    assert quick_settings() is None
