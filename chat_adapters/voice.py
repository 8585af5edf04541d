"""Voice notes and audio become prompts, the same way on every app.

The app adapters only say what clips a message carries (and how to fetch each); this
module checks the limits before anything is downloaded, transcribes the clips in order,
shows the chat what was heard ("🎙 *transcript*") before the turn runs, so a wrong
transcript can be stopped, and returns the prompt. Nothing is dropped silently: with
no backend, a note over a limit or a failed transcription, the person is told why.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from chat_adapters.settings import Settings
from chat_adapters.surface import Surface
from chat_adapters.transcription import (
    OpenAITranscriber,
    Transcriber,
    TranscriptionError,
    WhisperTranscriber,
    check_whisper_available,
)
from storage import ChatKey

log = structlog.get_logger(__name__)

HOW_TO_ENABLE = (
    "🎙 I can't listen to voice notes yet: no transcription is set up, so nothing was "
    "sent to Claude. To turn it on, the operator sets `BATON_TRANSCRIBE_URL` (an "
    "OpenAI-compatible endpoint such as `https://api.openai.com/v1` or a local whisper "
    "server, with `BATON_TRANSCRIBE_API_KEY` and `BATON_TRANSCRIBE_MODEL` as needed), or "
    "installs `claude-baton[voice]` and sets `BATON_WHISPER_MODEL` (for example `small`). "
    "Until then, please type your message."
)
STILL_OFF = "🎙 Voice notes are off (see above), so this one was not sent to Claude."


@dataclass(frozen=True, slots=True)
class VoiceLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_duration_s: float = 600.0


@dataclass(frozen=True, slots=True)
class AudioClip:
    """One voice note or audio file, described by the app before it is fetched."""

    name: str
    media_type: str
    size: int | None
    """Bytes, when the app says so up front."""
    duration_s: float | None
    fetch: Callable[[], Awaitable[bytes]]


class VoiceRefused(Exception):
    """A clip that cannot become a prompt; the message is what the person is told."""


def _escape(text: str) -> str:
    """The transcript as literal Markdown text inside an italic span."""
    return re.sub(r"([\\`*_\[\]~|>#$])", r"\\\1", " ".join(text.split()))  # $: inline math


def heard_line(transcript: str) -> str:
    return f"🎙 *{_escape(transcript)}*"


class VoicePrompts:
    """Turns a message's clips into one prompt, telling the chat what was heard."""

    def __init__(self, transcriber: Transcriber | None, limits: VoiceLimits | None = None) -> None:
        self.transcriber = transcriber
        self.limits = limits or VoiceLimits()
        self._told: set[ChatKey] = set()

    async def prompt(
        self, surface: Surface, chat: ChatKey, clips: Sequence[AudioClip], caption: str = ""
    ) -> str | None:
        """The text to send to Claude (the caption, then each transcript in order), or
        None when the person was told why there is nothing to send."""
        if self.transcriber is None:
            first = chat not in self._told
            self._told.add(chat)
            await surface.send_text(HOW_TO_ENABLE if first else STILL_OFF)
            return None
        try:
            for clip in clips:
                self._check_limits(clip)
            heard = [await self._transcribe(clip) for clip in clips]
        except VoiceRefused as exc:
            await surface.send_text(f"🎙 {exc} Nothing was sent to Claude.")
            return None
        spoken = [text for text in heard if text]
        if not spoken:
            await surface.send_text("🎙 I heard no words in that. Nothing was sent to Claude.")
            return None
        for text in spoken:
            await surface.send_text(heard_line(text))
        return "\n\n".join([caption.strip(), *spoken] if caption.strip() else spoken)

    def _check_limits(self, clip: AudioClip) -> None:
        limits = self.limits
        if clip.duration_s is not None and clip.duration_s > limits.max_duration_s:
            raise VoiceRefused(
                f"That note is {_duration(clip.duration_s)} long; the limit is "
                f"{_duration(limits.max_duration_s)} (BATON_VOICE_MAX_S)."
            )
        if clip.size is not None and clip.size > limits.max_bytes:
            raise VoiceRefused(_too_big(clip.size, limits.max_bytes))

    async def _transcribe(self, clip: AudioClip) -> str:
        assert self.transcriber is not None
        data = await clip.fetch()
        if len(data) > self.limits.max_bytes:
            raise VoiceRefused(_too_big(len(data), self.limits.max_bytes))
        try:
            text = await self.transcriber.transcribe(data, clip.media_type, clip.name)
        except TranscriptionError as exc:
            raise VoiceRefused(f"I could not transcribe that: {exc}.") from exc
        log.info("voice_transcribed", clip=clip.name, bytes=len(data), chars=len(text))
        return text


_MB = 1024 * 1024


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}" if whole >= 60 else f"{whole} s"


def _too_big(size: int, limit: int) -> str:
    return (
        f"That audio is {size / _MB:.1f} MB; the limit is {limit / _MB:.1f} MB "
        "(BATON_VOICE_MAX_MB)."
    )


def transcriber_from(settings: Settings) -> Transcriber | None:
    """The configured backend: an endpoint if one is set, else a local model, else none."""
    if settings.transcribe_url:
        key = settings.transcribe_api_key
        return OpenAITranscriber(
            settings.transcribe_url,
            settings.transcribe_model,
            api_key=key.get_secret_value() if key else None,
        )
    if settings.whisper_model:
        try:
            check_whisper_available()
        except TranscriptionError as exc:  # each note will say so too
            log.warning("voice_backend_unavailable", reason=str(exc))
        return WhisperTranscriber(settings.whisper_model)
    return None


def voice_from(settings: Settings) -> VoicePrompts:
    limits = VoiceLimits(
        max_bytes=int(settings.voice_max_mb * 1024 * 1024), max_duration_s=settings.voice_max_s
    )
    return VoicePrompts(transcriber_from(settings), limits)
