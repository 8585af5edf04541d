"""Tools claude-baton gives the model when a chat drives the session.

``send_to_chat`` lets Claude hand the person a file (a chart it drew, a log, a build
artifact). session_core declares the tool, confines its path and defines the seam
(:class:`FileSink`); the chat layer implements the sink (redaction, app limits,
photo or document). The SDK wiring lives in :mod:`session_core.sdk_connection`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from session_core.roots import OutsideRoots

SERVER_NAME = "baton"
SEND_TO_CHAT = "send_to_chat"
SEND_TO_CHAT_TOOL = f"mcp__{SERVER_NAME}__{SEND_TO_CHAT}"
"""The name the model calls; pre-allowed, since the tool confines itself."""
SEND_TO_CHAT_DESCRIPTION = (
    "Send a file from the session's working directory to the chat the user is reading "
    "(images appear as photos, anything else as a document). Use it when the user asks "
    "to see or get a file, chart, screenshot or report. The path must be inside the "
    "working directory."
)
SEND_TO_CHAT_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "path": {"type": "string", "description": "File path, relative to the working directory"},
        "caption": {"type": "string", "description": "A short caption shown with the file"},
    },
    "required": ["path"],
}


@dataclass(frozen=True, slots=True)
class FileOffer:
    """A confined, existing regular file the model wants the chat to show."""

    path: Path
    caption: str = ""


class FileSink(Protocol):
    """Delivers a file to the chat driving the turn.

    Returns what the model is told on success; raises ValueError with a reason a
    person (and the model) can act on when the file cannot go (too large, ...).
    """

    async def __call__(self, offer: FileOffer) -> str: ...


def confine(raw: str, directory: str | os.PathLike[str]) -> Path:
    """``raw`` (relative to ``directory`` or absolute) as a real path inside ``directory``.

    Symlinks and ``..`` are resolved first, so neither escapes. Raises
    :class:`~session_core.roots.OutsideRoots` (a ValueError) with the reason.
    """
    text = raw.strip()
    if not text:
        raise OutsideRoots("no path given")
    base = Path(os.path.realpath(directory))
    given = Path(os.path.expanduser(text))
    real = Path(os.path.realpath(given if given.is_absolute() else base / given))
    if real != base and not real.is_relative_to(base):
        raise OutsideRoots(f"{text} is outside the session's directory ({base})")
    if not real.exists():
        raise OutsideRoots(f"no such file: {text}")
    if not real.is_file():
        raise OutsideRoots(f"{text} is not a regular file")
    return real
