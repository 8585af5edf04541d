"""The answer to a message the bot cannot use (a voice note, a sticker, a poll...).

Silence would look like a lost message, so every such message is answered with what
the bot does take. Voice notes get their own line: people expect them to work, and a
later feature (transcription) will take them.
"""

from __future__ import annotations

TAKES = "I can take text, photos and files (documents)."

_NAMES = {
    "voice": "Voice notes are not supported yet",
    "audio": "Audio files are not something I can use",
    "video": "Videos are not something I can use",
    "video_note": "Video messages are not something I can use",
    "animation": "GIFs are not something I can use",
    "sticker": "Stickers are not something I can use",
    "location": "Locations are not something I can use",
    "venue": "Places are not something I can use",
    "contact": "Contacts are not something I can use",
    "poll": "Polls are not something I can use",
    "dice": "Dice are not something I can use",
    "game": "Games are not something I can use",
    "story": "Stories are not something I can use",
}


def unusable_text(kind: str) -> str:
    """One line: what was not taken, that nothing reached Claude, and what would be."""
    what = _NAMES.get(kind, "This kind of message is not something I can use")
    hint = " Please type it instead." if kind == "voice" else ""
    return f"⚠️ {what}: nothing was sent to Claude. {TAKES}{hint}"
