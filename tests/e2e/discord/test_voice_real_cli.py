"""A Discord voice message becomes a prompt the model receives, through the real Claude Code
CLI (the seam); the other voice tests run on scripted turns in ``test_voice.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, bot_settings, final
from tests.e2e.discord.harness import ErrorLog
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.transcription import FakeTranscriber, spoken_ogg

MODEL = "whisper-discord-test"


async def session_thread(dc: FakeDiscord, channel: int, user: int) -> int:
    """A session's thread (the bot's own): where a voice message, which cannot mention
    the bot, is addressed to it."""
    await answer_of(dc, await dc.dispatch_slash_command("new", user_id=user, channel_id=channel))
    thread = await dc.wait_for_thread(channel, name_contains="New session")
    await dc.wait_for_message(thread.id, "next message starts", timeout=WAIT_S)
    return thread.id


@pytest.fixture
async def transcriber() -> AsyncIterator[FakeTranscriber]:
    async with FakeTranscriber() as fake:
        yield fake


async def test_a_voice_message_and_an_audio_file_become_prompts(
    dc: FakeDiscord,
    cli_env: ClaudeEnv,
    tmp_path: Path,
    transcriber: FakeTranscriber,
    fake_api: FakeAnthropic,
    discord_errors: ErrorLog,
) -> None:
    values = {"BATON_TRANSCRIBE_URL": transcriber.base_url, "BATON_TRANSCRIBE_MODEL": MODEL}
    note = spoken_ogg(tmp_path, "what changed today")
    transcriber.will_hear("What changed today?", "and the tests")
    async with Baton(bot_settings(dc, cli_env, tmp_path / "data", **values), dc):
        alice = dc.user_id("alice")
        channel = await session_thread(dc, dc.channel_id(), alice)
        await dc.send_user_message(channel, alice, "", voice=note, voice_duration_s=1.5)
        reply = await dc.wait_for_message(
            channel, predicate=final("to: What changed today?"), timeout=WAIT_S
        )
        heard = next(m for m in dc.messages(channel) if m.content.startswith("🎙"))
        assert "What changed today?" in heard.content and heard.id < reply.id
        await dc.send_user_message(channel, alice, "also", attachments={"memo.mp3": b"ID3-memo"})
        await dc.wait_for_message(channel, predicate=final("to: also"), timeout=WAIT_S)
    first, second = transcriber.requests
    assert first.audio == note and first.model == MODEL and first.content_type == "audio/ogg"
    assert second.audio == b"ID3-memo" and second.file_name == "memo.mp3"
    assert fake_api.prompts()[-2:] == ["What changed today?", "also\n\nand the tests"]
