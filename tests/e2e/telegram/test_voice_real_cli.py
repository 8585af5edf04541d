"""A Telegram voice note is heard, shown, then reaches the model, through the real Claude Code
CLI (the seam); the other voice tests run on scripted turns in ``test_voice.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.telegram.conftest import USER, Baton, answer, bot_settings
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.transcription import FakeTranscriber, spoken_ogg

KEY = "sk-transcribe-secret-0123"
MODEL = "whisper-large-v3-test"


@pytest.fixture
async def transcriber() -> AsyncIterator[FakeTranscriber]:
    async with FakeTranscriber(api_key=KEY) as fake:
        yield fake


def voice_values(transcriber: FakeTranscriber, **more: object) -> dict[str, object]:
    return {
        "BATON_TRANSCRIBE_URL": transcriber.base_url,
        "BATON_TRANSCRIBE_API_KEY": KEY,
        "BATON_TRANSCRIBE_MODEL": MODEL,
        **more,
    }


@pytest.fixture
async def listening(
    tg: FakeTelegram, cli_env: ClaudeEnv, tmp_path: Path, transcriber: FakeTranscriber
) -> AsyncIterator[Baton]:
    settings = bot_settings(tg, cli_env, tmp_path / "data", **voice_values(transcriber))
    async with Baton(settings, tg) as running:
        yield running


async def test_a_voice_note_is_heard_shown_then_sent_to_claude(
    tg: FakeTelegram,
    listening: Baton,
    transcriber: FakeTranscriber,
    fake_api: FakeAnthropic,
    tmp_path: Path,
) -> None:
    note = spoken_ogg(tmp_path, "list the files please")
    transcriber.will_hear("List the files, please.")
    sent = tg.send_user_message(USER, USER, voice=note, duration=2)
    reply = await answer(tg, "FAKE-REPLY", after=sent)

    [request] = transcriber.requests
    assert request.audio == note, "the very bytes the person sent"
    assert request.model == MODEL and request.authorization == f"Bearer {KEY}"
    assert request.file_name is not None and request.file_name.endswith(".ogg")
    assert fake_api.prompts()[-1] == "List the files, please."
    heard = await answer(tg, "🎙", after=sent)
    assert "List the files, please." in heard.body
    assert heard.message_id < reply.message_id, "what was heard comes before the turn runs"
    assert any(e["type"] == "italic" for e in heard.entities)
