"""Secrets never reach a chat message or a log line."""

from __future__ import annotations

import json
import logging

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from chat_adapters.logs import configure_logging
from chat_adapters.redaction import MASK, Redactor

TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


@pytest.mark.parametrize(
    "text",
    [
        f"bot{TELEGRAM_TOKEN}/getMe",
        "curl -H 'x-api-key: sk-ant-api03-abcdefghijklmnop'",
        "export ANTHROPIC_API_KEY=abcd1234secret",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload",
        "token=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "password: hunter2hunter2",
    ],
)
def test_token_shapes_are_masked(text: str) -> None:
    redacted = Redactor()(text)
    assert MASK in redacted
    for secret in ("AAHdqTcv", "abcdefghijklmnop", "abcd1234secret", "payload", "ghp_", "hunter2"):
        assert secret not in redacted


def test_known_secrets_are_masked_whatever_their_shape() -> None:
    redact = Redactor.with_secrets(["plain-looking-value"])
    assert redact("the value is plain-looking-value.") == f"the value is {MASK}."


def test_ordinary_text_is_untouched() -> None:
    text = "git status && echo done; see tokens.md for the token list"
    assert Redactor()(text) == text


@given(st.text(), st.sampled_from(["s3cr3t-value-1", "another-secret"]))
def test_a_known_secret_never_survives(prefix: str, secret: str) -> None:
    assert secret not in Redactor.with_secrets([secret])(prefix + secret + prefix)


def test_log_lines_are_json_and_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json", Redactor.with_secrets(["super-secret-token"]))
    structlog.get_logger("t").info("hello", url="https://x/botsuper-secret-token/getMe")
    logging.getLogger("httpx").warning("GET https://api.telegram.org/bot%s/getMe", TELEGRAM_TOKEN)
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert lines[0]["event"] == "hello" and "super-secret-token" not in lines[0]["url"]
    assert TELEGRAM_TOKEN not in json.dumps(lines)
