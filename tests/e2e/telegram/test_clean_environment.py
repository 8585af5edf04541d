"""Issue 9, finding 3, end to end: with the bot's tokens in its own environment, a turn
whose model runs ``env`` sends back a tool result (as the fake Anthropic API receives
it in the next request) in which no token and no bot setting appears."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from session_core.child_guard import PARENT_PID_ENV, PARENT_START_ENV
from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, bot_settings, say
from tests.fakes.anthropic import FakeAnthropic, Reply, tool_results
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.telegram_api import FakeTelegram

DISCORD_TOKEN = "discord-token-that-must-stay-home-0123456789"


async def test_env_run_by_the_model_shows_no_bot_secret(
    tg: FakeTelegram,
    cli_env: ClaudeEnv,
    fake_api: FakeAnthropic,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", tg.token)
    monkeypatch.setenv("TELEGRAM_API_URL", tg.root_url)
    monkeypatch.setenv("DISCORD_BOT_TOKEN", DISCORD_TOKEN)
    monkeypatch.setenv("BATON_ALLOWED_USERS", f"telegram:{USER}")
    monkeypatch.setenv("MY_COPY_OF_THE_TOKEN", f"token={tg.token}")
    monkeypatch.setenv("PLAIN_USER_SETTING", "kept-for-claude")
    settings = bot_settings(tg, cli_env, tmp_path / "data")
    assert settings.discord_bot_token is not None, "the bot did read the Discord token"

    fake_api.script(
        Reply.tool_use("Bash", {"command": "env", "description": "show the environment"}),
        Reply(text="that was env"),
    )
    async with Baton(settings, tg):
        kept = {name for name in ("TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN") if name in os.environ}
        sent = say(tg, "what is in your environment?")
        asked = await tg.wait_for_message(
            USER,
            after=sent.message_id,
            match=lambda m: "Allow Bash?" in m.body and bool(m.buttons),
            timeout=WAIT_S,
        )
        press = tg.press_button(asked, label="Allow once", user_id=USER)
        await tg.wait_for_callback_answer(press, timeout=WAIT_S)
        await answer(tg, "that was env", after=sent)

    result = json.dumps(tool_results(fake_api.messages_requests()[-1]))
    assert "PLAIN_USER_SETTING=kept-for-claude" in result, "env ran and printed the rest"
    for secret in (tg.token, DISCORD_TOKEN):
        assert secret not in result
    # The two reaping markers are the bot's own pid and start time, put there on purpose
    # (session_core.child_guard): no setting of the bot's reaches the child.
    for marker in (PARENT_PID_ENV, PARENT_START_ENV):
        result = result.replace(marker, "")
    for name in ("TELEGRAM_", "DISCORD_", "BATON_", "MY_COPY_OF_THE_TOKEN", "IS_SANDBOX"):
        assert name not in result
    assert kept == set(), "the bot dropped its own copy of its tokens"
