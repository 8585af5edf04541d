"""The audio attachments of a Discord message (voice messages and audio files), as clips
that :mod:`chat_adapters.voice` checks against its limits before fetching them."""

from __future__ import annotations

from collections.abc import Sequence

import discord
import structlog

from chat_adapters.message_intake import FetchFailed
from chat_adapters.voice import AudioClip

log = structlog.get_logger(__name__)


def is_audio(item: discord.Attachment) -> bool:
    media_type = (item.content_type or "").split(";")[0].strip().lower()
    return item.is_voice_message() or media_type.startswith("audio/")


def split_audio(
    attachments: Sequence[discord.Attachment],
) -> tuple[list[discord.Attachment], list[discord.Attachment]]:
    """(audio, everything else), each in the order sent."""
    audio = [a for a in attachments if is_audio(a)]
    return audio, [a for a in attachments if not is_audio(a)]


def audio_clip(item: discord.Attachment) -> AudioClip:
    async def read() -> bytes:
        try:
            return await item.read()
        except discord.HTTPException as exc:
            log.warning("discord.audio_failed", error=repr(exc))
            raise FetchFailed("Could not download your audio.") from exc

    return AudioClip(
        item.filename,
        (item.content_type or "audio/ogg").split(";")[0].strip(),
        item.size,
        item.duration,
        read,
    )
