"""Voice notes, audio files and video notes become prompts: the real PTB download path
against the fake Bot API, a real Opus/OGG note, a fake transcription endpoint, the real
CLI replaced by scripted turns (the subject is the chat). Nothing a person says is
dropped without a reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_adapters.voice import HOW_TO_ENABLE, STILL_OFF
from tests.e2e.telegram.conftest import USER, Baton, answer, bot_settings, bot_texts, prompts
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.scripted_runner import ScriptedRunner
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.transcription import FakeTranscriber, spoken_ogg

pytestmark = pytest.mark.usefixtures("unpaced")
"""Unpaced: these tests are about what the chat shows, not about pacing."""

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
    tg: FakeTelegram,
    claude_env: ClaudeEnv,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
    transcriber: FakeTranscriber,
) -> AsyncIterator[Baton]:
    settings = bot_settings(tg, claude_env, tmp_path / "data", **voice_values(transcriber))
    async with Baton(settings, tg, turns=scripted_runner) as running:
        yield running


async def note_is_heard_then_answered(
    tg: FakeTelegram, transcriber: FakeTranscriber, tmp_path: Path, reply_marker: str
) -> None:
    """A voice note: transcribed from its very bytes, shown (in italics) before the
    answer that starts with ``reply_marker``."""
    note = spoken_ogg(tmp_path, "list the files please")
    transcriber.will_hear("List the files, please.")
    sent = tg.send_user_message(USER, USER, voice=note, duration=2)
    reply = await answer(tg, reply_marker, after=sent)

    [request] = transcriber.requests
    assert request.audio == note, "the very bytes the person sent"
    assert request.model == MODEL and request.authorization == f"Bearer {KEY}"
    assert request.file_name is not None and request.file_name.endswith(".ogg")
    heard = await answer(tg, "🎙", after=sent)
    assert "List the files, please." in heard.body
    assert heard.message_id < reply.message_id, "what was heard comes before the turn runs"
    assert any(e["type"] == "italic" for e in heard.entities)


async def test_a_voice_note_is_heard_shown_then_sent_to_claude(
    tg: FakeTelegram,
    listening: Baton,
    transcriber: FakeTranscriber,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
) -> None:
    await note_is_heard_then_answered(tg, transcriber, tmp_path, "SCRIPTED-REPLY")
    assert prompts(scripted_runner) == ["List the files, please."]


async def test_notes_are_transcribed_in_order_with_caption_first(
    tg: FakeTelegram,
    listening: Baton,
    transcriber: FakeTranscriber,
    scripted_runner: ScriptedRunner,
) -> None:
    transcriber.will_hear("first thought", "second thought", "third from a song")
    first = tg.send_user_message(USER, USER, voice=b"OggS-one", duration=1)
    tg.send_user_message(USER, USER, voice=b"OggS-two", duration=1)
    tg.send_user_message(USER, USER, "lyrics:", audio=("song.mp3", b"ID3-three"), duration=3)
    await answer(tg, "SCRIPTED-REPLY to: lyrics:", after=first)
    assert [r.audio for r in transcriber.requests] == [b"OggS-one", b"OggS-two", b"ID3-three"]
    assert transcriber.requests[2].file_name == "song.mp3"
    assert prompts(scripted_runner) == [
        "first thought",
        "second thought",
        "lyrics:\n\nthird from a song",
    ]
    heard = [t for t in bot_texts(tg) if t.startswith("🎙")]
    assert heard == ["🎙 first thought", "🎙 second thought", "🎙 third from a song"]


async def test_a_video_note_is_transcribed(
    tg: FakeTelegram,
    listening: Baton,
    transcriber: FakeTranscriber,
    scripted_runner: ScriptedRunner,
) -> None:
    transcriber.will_hear("from a round video")
    sent = tg.send_user_message(USER, USER, video_note=b"\x00\x00\x00\x18ftypmp42", duration=4)
    await answer(tg, "SCRIPTED-REPLY", after=sent)
    assert transcriber.requests[0].content_type == "video/mp4"
    assert prompts(scripted_runner) == ["from a round video"]


async def test_over_the_limits_the_person_is_told_and_nothing_runs(
    tg: FakeTelegram,
    claude_env: ClaudeEnv,
    tmp_path: Path,
    transcriber: FakeTranscriber,
    scripted_runner: ScriptedRunner,
) -> None:
    values = voice_values(transcriber, BATON_VOICE_MAX_S=60, BATON_VOICE_MAX_MB=0.001)
    settings = bot_settings(tg, claude_env, tmp_path / "data", **values)
    async with Baton(settings, tg, turns=scripted_runner):
        long = tg.send_user_message(USER, USER, voice=b"OggS", duration=125)
        told = await answer(tg, "limit", after=long)
        assert "2:05" in told.body and "1:00" in told.body and "BATON_VOICE_MAX_S" in told.body
        big = tg.send_user_message(USER, USER, voice=b"OggS" * 1000, duration=3)
        told = await answer(tg, "limit", after=big)
        assert "BATON_VOICE_MAX_MB" in told.body
    assert transcriber.requests == [] and tg.downloads == [], "refused before downloading"
    assert scripted_runner.calls == []


async def test_a_failing_backend_is_reported(
    tg: FakeTelegram,
    listening: Baton,
    transcriber: FakeTranscriber,
    scripted_runner: ScriptedRunner,
) -> None:
    transcriber.status = 500
    sent = tg.send_user_message(USER, USER, voice=b"OggS", duration=1)
    told = await answer(tg, "could not transcribe", after=sent)
    assert "HTTP 500" in told.body and "Nothing was sent to Claude" in told.body
    assert scripted_runner.calls == []


async def test_without_a_backend_the_chat_is_told_how_once(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    first = tg.send_user_message(USER, USER, voice=b"OggS", duration=1)
    told = await answer(tg, "BATON_TRANSCRIBE_URL", after=first)
    assert "claude-baton[voice]" in told.body
    second = tg.send_user_message(USER, USER, voice=b"OggS", duration=1)
    await answer(tg, "Voice notes are off", after=second)
    texts = bot_texts(tg)
    assert sum("BATON_TRANSCRIBE_URL" in t for t in texts) == 1
    assert HOW_TO_ENABLE.startswith("🎙") and STILL_OFF.startswith("🎙")
    assert scripted_runner.calls == []


@pytest.fixture
async def listening_on_the_cli(
    tg: FakeTelegram, cli_env: ClaudeEnv, tmp_path: Path, transcriber: FakeTranscriber
) -> AsyncIterator[Baton]:
    settings = bot_settings(tg, cli_env, tmp_path / "data", **voice_values(transcriber))
    async with Baton(settings, tg) as running:
        yield running


async def test_a_voice_note_is_heard_shown_then_sent_to_claude_through_the_real_cli(
    tg: FakeTelegram,
    listening_on_the_cli: Baton,
    transcriber: FakeTranscriber,
    fake_api: FakeAnthropic,
    tmp_path: Path,
) -> None:
    await note_is_heard_then_answered(tg, transcriber, tmp_path, "FAKE-REPLY")
    assert fake_api.prompts()[-1] == "List the files, please."
