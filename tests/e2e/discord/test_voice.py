"""Voice messages and audio attachments become prompts on Discord: real discord.py
downloading from the fake CDN, a real Opus/OGG note, a fake transcription endpoint and
scripted turns (the prompt is the ScriptedRunner's recorded call)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, bot_settings, final
from tests.e2e.discord.harness import ErrorLog
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.scripted_runner import ScriptedRunner
from tests.fakes.transcription import FakeTranscriber, spoken_ogg

MODEL = "whisper-discord-test"


async def session_thread(dc: FakeDiscord, channel: int, user: int) -> int:
    """A session's thread (the bot's own): where a voice message, which cannot mention
    the bot, is addressed to it."""
    await answer_of(dc, await dc.dispatch_slash_command("new", user_id=user, channel_id=channel))
    thread = await dc.wait_for_thread(channel, name_contains="New session")
    await dc.wait_for_message(thread.id, "next message starts", timeout=WAIT_S)
    return thread.id


async def voice_then_audio(dc: FakeDiscord, note: bytes) -> None:
    """In a session thread: a voice message (what was heard shown before the answer),
    then a text with an audio file attached."""
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


def check_transcribed(transcriber: FakeTranscriber, note: bytes) -> None:
    first, second = transcriber.requests
    assert first.audio == note and first.model == MODEL and first.content_type == "audio/ogg"
    assert second.audio == b"ID3-memo" and second.file_name == "memo.mp3"


@pytest.fixture
async def transcriber() -> AsyncIterator[FakeTranscriber]:
    async with FakeTranscriber() as fake:
        yield fake


async def test_a_voice_message_and_an_audio_file_become_prompts(
    dc: FakeDiscord,
    claude_env: ClaudeEnv,
    tmp_path: Path,
    transcriber: FakeTranscriber,
    scripted_runner: ScriptedRunner,
    discord_errors: ErrorLog,
) -> None:
    values = {"BATON_TRANSCRIBE_URL": transcriber.base_url, "BATON_TRANSCRIBE_MODEL": MODEL}
    note = spoken_ogg(tmp_path, "what changed today")
    transcriber.will_hear("What changed today?", "and the tests")
    settings = bot_settings(dc, claude_env, tmp_path / "data", **values)
    async with Baton(settings, dc, turns=scripted_runner):
        await voice_then_audio(dc, note)
    check_transcribed(transcriber, note)
    prompts = [call.prompt for call in scripted_runner.calls]
    assert prompts[-2:] == ["What changed today?", "also\n\nand the tests"]


async def test_without_a_backend_discord_says_how_once(
    dc: FakeDiscord, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    alice = dc.user_id("alice")
    channel = await session_thread(dc, dc.channel_id(), alice)
    await dc.send_user_message(channel, alice, "", voice=b"OggS")
    await dc.wait_for_message(channel, predicate=final("BATON_TRANSCRIBE_URL"), timeout=WAIT_S)
    await dc.send_user_message(channel, alice, "", voice=b"OggS")
    await dc.wait_for_message(channel, predicate=final("Voice notes are off"), timeout=WAIT_S)
    texts = [m.content for m in dc.messages(channel) if m.author_id == dc.bot_user_id]
    assert sum("BATON_TRANSCRIBE_URL" in t for t in texts) == 1
    assert scripted_runner.calls == []


async def test_a_voice_message_and_an_audio_file_become_prompts_through_the_real_cli(
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
        await voice_then_audio(dc, note)
    check_transcribed(transcriber, note)
    assert fake_api.prompts()[-2:] == ["What changed today?", "also\n\nand the tests"]
