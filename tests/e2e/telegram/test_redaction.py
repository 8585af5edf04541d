"""What the model writes reaches the chat redacted: the bot's own token and key shapes
never appear in any request the bot makes to Telegram (every edit included)."""

from __future__ import annotations

import json

from session_core.events import TextDelta
from tests.e2e.telegram.conftest import Baton, answer, say
from tests.fakes.scripted_runner import Pause, ScriptedRunner, ScriptedTurn
from tests.fakes.telegram_api import FakeTelegram

KEY = "sk-ant-api03-Zx9kLmNoPqRsTuVwXyZ0123456789"
GITHUB = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"


async def test_model_text_with_secrets_is_redacted_in_every_message_and_edit(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    text = (
        f"Found these: the bot token {tg.token}, an API key {KEY} and a GitHub token "
        f"{GITHUB}.\n\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
        "-----END PRIVATE KEY-----\nThat is all."
    )
    size = -(-len(text) // 23)
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    steps = [step for chunk in chunks for step in (TextDelta(chunk), Pause(0.02))]
    scripted_runner.script(ScriptedTurn(tuple(steps)))
    asked = say(tg, f"what secrets are there? mine is {KEY}")
    done = await answer(tg, "That is all.", after=asked)
    say(tg, "/history")
    history = await answer(tg, "Session", after=done)
    assert "secrets are there" in history.body

    sent = json.dumps([dict(call.params) for call in tg.calls() if call.method != "getUpdates"])
    for secret in (tg.token, tg.token.split(":")[1][:12], KEY, "Zx9kLmNoPq", GITHUB, "MIIEvQIB"):
        assert secret not in sent, secret
    assert "[REDACTED]" in done.body and "[REDACTED]" in history.body
    assert any(c.method == "editMessageText" for c in tg.calls()), "the reply streamed"
