"""The security settings: approvers in the allowed-users format, audit retention days."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_adapters.settings import SettingsError, load_settings


def test_approvers_and_audit_days_are_read(tmp_path: Path) -> None:
    settings = load_settings(
        BATON_ROOTS=str(tmp_path),
        BATON_APPROVERS="telegram:1, discord:22",
        BATON_AUDIT_DAYS="7",
    )
    assert settings.approvers == frozenset({("telegram", "1"), ("discord", "22")})
    assert settings.audit_days == 7
    assert load_settings(BATON_ROOTS=str(tmp_path)).audit_days == 90


@pytest.mark.parametrize(
    ("name", "value"), [("BATON_APPROVERS", "slack:1"), ("BATON_AUDIT_DAYS", "0")]
)
def test_bad_security_setting_is_one_line_naming_it(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(BATON_ROOTS=str(tmp_path), **{name: value})
