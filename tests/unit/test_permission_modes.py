"""Issue 9, finding 2: the mode a turn runs in comes from the chat's choice and the
settings of this run, so switching bypass off takes effect at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chat_adapters.settings import SettingsError, load_settings
from session_core.permission_modes import EffectiveMode, effective_mode
from session_core.sdk_options import build_options
from session_core.sdk_values import TurnOptions


@pytest.mark.parametrize(
    ("chosen", "default", "allow", "expected"),
    [
        (None, None, False, EffectiveMode("default")),
        (None, "acceptEdits", False, EffectiveMode("acceptEdits")),
        ("plan", "acceptEdits", False, EffectiveMode("plan")),
        ("bypassPermissions", "default", True, EffectiveMode("bypassPermissions")),
        ("bypassPermissions", "default", False, EffectiveMode("default", bypass_refused=True)),
        (None, "bypassPermissions", False, EffectiveMode("default", bypass_refused=True)),
        ("yolo", "default", True, EffectiveMode("default")),
    ],
)
def test_the_effective_mode(
    chosen: str | None, default: str | None, allow: bool, expected: EffectiveMode
) -> None:
    assert effective_mode(chosen, default, allow_bypass=allow) == expected


@pytest.mark.parametrize("allowed", [True, False])
def test_the_cli_is_started_in_bypass_only_when_the_operator_allows_it(allowed: bool) -> None:
    turn = TurnOptions(
        cwd="/w",
        env={"IS_SANDBOX": "1"},  # never passed through from the caller's env
        permission_mode="bypassPermissions",
        bypass_allowed=allowed,
    )
    options = build_options(turn)
    assert options.permission_mode == ("bypassPermissions" if allowed else "default")
    sandboxed = options.env.get("IS_SANDBOX") == "1"
    assert sandboxed == (allowed and os.geteuid() == 0)


def test_no_sandbox_outside_bypass() -> None:
    options = build_options(
        TurnOptions(cwd="/w", env={}, permission_mode="acceptEdits", bypass_allowed=True)
    )
    assert "IS_SANDBOX" not in options.env and options.permission_mode == "acceptEdits"


def test_start_up_refuses_bypass_as_default_without_allow_bypass(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in list(os.environ):
        if name.startswith(("BATON_", "TELEGRAM_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BATON_PERMISSION_MODE", "bypassPermissions")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert "\n" not in message
    assert "BATON_PERMISSION_MODE" in message and "BATON_ALLOW_BYPASS" in message
    monkeypatch.setenv("BATON_ALLOW_BYPASS", "true")
    assert load_settings().permission_mode == "bypassPermissions"
