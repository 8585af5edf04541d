"""The audio a Telegram message carries (voice note, audio file, video note), as clips
that :mod:`chat_adapters.voice` can check against its limits before fetching them."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable

from telegram import Audio, Message, VideoNote, Voice
from telegram.warnings import PTBDeprecationWarning

from chat_adapters.voice import AudioClip

Fetch = Callable[[str, int | None, str], Awaitable[bytes]]
"""Download by file id (size and what it is, for the error message)."""


def has_audio(message: Message) -> bool:
    return bool(message.voice or message.audio or message.video_note)


def audio_clips(message: Message, fetch: Fetch) -> tuple[AudioClip, ...]:
    """At most one per message (Telegram puts one medium in a message)."""
    if message.voice is not None:
        voice = message.voice
        return (
            AudioClip(
                f"voice-{voice.file_unique_id}.ogg",
                voice.mime_type or "audio/ogg",
                voice.file_size,
                _seconds(voice),
                lambda: fetch(voice.file_id, voice.file_size, "voice note"),
            ),
        )
    if message.audio is not None:
        audio = message.audio
        return (
            AudioClip(
                audio.file_name or f"audio-{audio.file_unique_id}",
                audio.mime_type or "audio/mpeg",
                audio.file_size,
                _seconds(audio),
                lambda: fetch(audio.file_id, audio.file_size, "audio file"),
            ),
        )
    if message.video_note is not None:
        note = message.video_note
        return (
            AudioClip(
                f"video-note-{note.file_unique_id}.mp4",
                "video/mp4",
                note.file_size,
                _seconds(note),
                lambda: fetch(note.file_id, note.file_size, "video note"),
            ),
        )
    return ()


def _seconds(medium: Voice | Audio | VideoNote) -> float | None:
    """PTB gives an int, or a timedelta when its ``PTB_TIMEDELTA`` switch is on (and
    warns about the change on every read; the warning is for us, not the log)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        duration: object = medium.duration
    if isinstance(duration, int | float):
        return float(duration)
    total = getattr(duration, "total_seconds", None)
    return float(total()) if callable(total) else None
