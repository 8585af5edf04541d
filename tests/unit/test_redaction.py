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


# A corpus of what a model, a tool or a file may put in front of a chat: each must be
# masked, and the secret part must not survive.
SECRET_CORPUS = [
    ("anthropic", "key sk-ant-api03-Zx9_kLmNoPqRsTuVwXyZ0123456789abcdef done", "Zx9_kLmNoPq"),
    ("openai", "OPENAI: sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345 ok", "AbCdEfGhIjKlMn"),
    ("openai-legacy", "sk-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd", "AbCdEfGhIjKlMn"),
    ("github-pat", "ghp_16C7e42F292c6912E7710c838347Ae178B4a here", "16C7e42F292c69"),
    ("github-oauth", "gho_16C7e42F292c6912E7710c838347Ae178B4a", "16C7e42F292c69"),
    ("github-server", "ghs_16C7e42F292c6912E7710c838347Ae178B4a", "16C7e42F292c69"),
    (
        "github-fine",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
        "11ABCDEFG0123456789_abc",
    ),
    ("aws-id", "AKIAIOSFODNN7EXAMPLE is the id", "IOSFODNN7EXAMPLE"),
    (
        "aws-secret",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI",
    ),
    ("aws-json", '{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY"}', "wJalrXUtnFEMI"),
    ("slack-bot", "xoxb-1234567890-abcdefghijkl", "1234567890-abcdef"),
    ("slack-user", "xoxp-1234567890-abcdefghijkl", "1234567890-abcdef"),
    ("telegram", f"token {TELEGRAM_TOKEN}", "AAHdqTcvCH1v"),
    (
        "discord",
        "MTA4NjY2NjY2NjY2NjY2NjY2Ng.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456",
        "abcdefghijklmnopqrstuvwxyz",
    ),
    ("bearer", "Authorization: Bearer abcdefghijklmnopqrstuvwx", "abcdefghijklmnopqrst"),
    ("basic", "Authorization: Basic dXNlcjpwYXNzd29yZDEyMzQ=", "dXNlcjpwYXNzd29yZDEy"),
    ("auth-token", "authorization: token 0123456789abcdef0123", "0123456789abcdef"),
    ("url-password", "git clone https://bob:hunter2pass@example.com/x.git", "hunter2pass"),
    (
        "pem",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n"
        "-----END OPENSSH PRIVATE KEY-----\nafter",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU",
    ),
    ("pem-unterminated", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7", "MIIEowIBAAKCAQEA7"),
    ("pem-tail", "MIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA7"),
]


@pytest.mark.parametrize(
    ("text", "secret"), [c[1:] for c in SECRET_CORPUS], ids=[c[0] for c in SECRET_CORPUS]
)
def test_corpus_of_secret_shapes_is_masked(text: str, secret: str) -> None:
    redacted = Redactor()(text)
    assert secret not in redacted and MASK in redacted, redacted


def test_pem_block_keeps_what_follows() -> None:
    text = "key:\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\nthe end"
    assert Redactor()(text) == f"key:\n{MASK}\nthe end"


@pytest.mark.parametrize(
    "text",
    [
        "The authorization header is required; see docs.",
        "sk-learn is a library",
        "a sha 3f786850e387550fdab836ed7e6dc881de23001b in git log",
        "version 1.2.3 at 12:30:45",
        "https://example.com/path?x=1",
    ],
)
def test_ordinary_text_with_near_misses_is_untouched(text: str) -> None:
    assert Redactor()(text) == text


@given(
    st.text(max_size=40),
    st.sampled_from([c[1:] for c in SECRET_CORPUS if "PRIVATE" not in c[1]]),
    st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_a_secret_streamed_in_pieces_is_never_shown(
    before: str, case: tuple[str, str], cuts: list[int]
) -> None:
    """Every prefix a live reply may show (the text so far, settled) and the final text
    hide the secret, wherever the deltas were cut."""
    text, secret = case
    full = f"{before} {text} and more"
    redact = Redactor()
    for cut in sorted({min(c, len(full)) for c in cuts} | {len(full)}):
        assert secret not in redact.settled(full[:cut])
    assert secret not in redact(full)


def test_settled_holds_back_only_the_unfinished_word() -> None:
    redact = Redactor()
    assert redact.settled("the key is sk-ant-api0") == "the key is "
    assert redact.settled("done. ") == "done. "
