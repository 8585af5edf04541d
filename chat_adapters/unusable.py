"""The answer to a message the bot cannot use (a voice note, a sticker, a poll...).

Silence would look like a lost message, so every such message is answered with what
the bot does take. Voice notes, audio and video notes are not here: they are
transcribed (:mod:`chat_adapters.voice`), or answered with how to turn that on.
"""

from __future__ import annotations

TAKES = "I can take text, photos, files (documents) and voice notes."

_NAMES = {
    "video": "Videos are not something I can use",
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
    return f"⚠️ {what}: nothing was sent to Claude. {TAKES}"
