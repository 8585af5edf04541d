"""The transcription seam: the OpenAI-compatible backend against a fake endpoint on
127.0.0.1, the local backend's missing extra, the key kept from Claude processes, and
how transcripts and limits are worded for the chat."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from chat_adapters.settings import claude_environment, load_settings, secret_setting_names
from chat_adapters.telegram.markdown import render_markdown
from chat_adapters.transcription import (
    MISSING_EXTRA,
    OpenAITranscriber,
    TranscriptionError,
    WhisperTranscriber,
    upload_name,
)
from chat_adapters.voice import (
    AudioClip,
    VoiceLimits,
    VoicePrompts,
    heard_line,
    transcriber_from,
)
from storage import ChatKey
from tests.fakes.memory_surface import MemorySurface
from tests.fakes.transcription import FakeTranscriber, spoken_ogg

KEY = "sk-test-transcription-key"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("BATON_", "TELEGRAM_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


async def test_the_endpoint_gets_the_audio_model_and_key(tmp_path: Path) -> None:
    note = spoken_ogg(tmp_path, "hello there")
    async with FakeTranscriber(api_key=KEY) as fake:
        fake.will_hear("  hello there \n")
        backend = OpenAITranscriber(fake.base_url, "whisper-1", api_key=KEY)
        assert await backend.transcribe(note, "audio/ogg", "voice-1") == "hello there"
    [request] = fake.requests
    assert request.audio == note and request.model == "whisper-1"
    assert request.file_name == "voice-1.ogg" and request.content_type == "audio/ogg"
    assert KEY not in repr(backend)


async def test_a_wrong_key_is_an_error_naming_the_status() -> None:
    async with FakeTranscriber(api_key=KEY) as fake:
        backend = OpenAITranscriber(fake.base_url + "/audio/transcriptions", "m", api_key="no")
        with pytest.raises(TranscriptionError, match="HTTP 401"):
            await backend.transcribe(b"OggS", "audio/ogg", "a.ogg")


async def test_an_unreachable_endpoint_is_an_error() -> None:
    backend = OpenAITranscriber("http://127.0.0.1:9/v1", "m", timeout_s=2)
    with pytest.raises(TranscriptionError, match="could not be reached"):
        await backend.transcribe(b"OggS", "audio/ogg", "a.ogg")


async def test_without_the_voice_extra_the_message_says_how_to_install_it() -> None:
    try:
        import faster_whisper  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("faster-whisper is installed here")
    with pytest.raises(TranscriptionError) as caught:
        await WhisperTranscriber("tiny").transcribe(b"OggS", "audio/ogg", "a.ogg")
    assert str(caught.value) == MISSING_EXTRA and "claude-baton[voice]" in MISSING_EXTRA


def test_settings_choose_the_backend_and_keep_the_key_secret() -> None:
    assert transcriber_from(load_settings()) is None
    settings = load_settings(
        BATON_TRANSCRIBE_URL="http://127.0.0.1:1/v1",
        BATON_TRANSCRIBE_API_KEY=KEY,
        BATON_WHISPER_MODEL="small",
    )
    chosen = transcriber_from(settings)
    assert isinstance(chosen, OpenAITranscriber) and chosen.model == "whisper-1"
    assert isinstance(
        transcriber_from(load_settings(BATON_WHISPER_MODEL="small")), WhisperTranscriber
    )
    assert "BATON_TRANSCRIBE_API_KEY" in secret_setting_names()
    assert KEY in settings.secrets(), "redacted from logs and chats"
    child = claude_environment(settings, {"PATH": "/bin", "COPY": f"x{KEY}x", "BATON_X": "1"})
    assert child == {"PATH": "/bin"}


def test_upload_names_keep_or_gain_an_extension() -> None:
    assert upload_name("song.mp3", "audio/mpeg") == "song.mp3"
    assert upload_name("voice-1", "audio/ogg; codecs=opus") == "voice-1.ogg"
    assert upload_name("", "video/mp4") == "audio.mp4"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=120))
@example("$0$")  # inline math to the renderer: the dollars were dropped
@example("it costs $5 or $x$ at most")
def test_a_transcript_is_shown_literally_in_italics(words: str) -> None:
    """Whatever was heard, the chat shows it literally, as one italic span."""
    spoken = " ".join(words.split())
    assume(spoken)  # blank transcripts are never shown (the person is told none was heard)
    [rendered] = render_markdown(heard_line(words))
    assert rendered.text == f"🎙 {spoken}".strip()
    assert [e.type for e in rendered.entities] == ["italic"]


async def test_limits_are_checked_before_fetching() -> None:
    fetched: list[str] = []

    async def fetch() -> bytes:
        fetched.append("x")
        return b"x" * 10

    surface = MemorySurface()
    voice = VoicePrompts(
        OpenAITranscriber("http://127.0.0.1:9", "m"), VoiceLimits(max_bytes=5, max_duration_s=30)
    )
    chat = ChatKey.of("telegram", 1, None)
    clip = AudioClip("a.ogg", "audio/ogg", None, 31.0, fetch)
    assert await voice.prompt(surface, chat, [clip]) is None
    clip = AudioClip("a.ogg", "audio/ogg", None, 3.0, fetch)
    assert await voice.prompt(surface, chat, [clip]) is None, "over the size once fetched"
    assert fetched == ["x"]
    texts = [m.text for m in surface.messages]
    assert "31 s" in texts[0] and "30 s" in texts[0]
    assert "MB" in texts[1]
