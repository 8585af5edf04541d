"""``/get <path>``: the person fetches a file from the chat's directory.

Same confinement and delivery as the model's ``send_to_chat``
(:mod:`chat_adapters.file_delivery`); Discord autocompletes paths from
:func:`complete_files`.
"""

from __future__ import annotations

import os
from pathlib import Path

from chat_adapters.file_delivery import ChatFileSink
from chat_adapters.redaction import Redactor
from chat_adapters.surface import Surface
from session_core.chat_tools import FileOffer, confine

MAX_LISTED = 2000
"""Files looked at for autocomplete: a huge tree must not stall an interaction."""
_SKIPPED_DIRS = frozenset({".git", "node_modules", ".venv", "__pycache__", ".mypy_cache"})


async def fetch(surface: Surface, directory: Path, args: str, redactor: Redactor) -> None:
    """Send the file at ``args`` (relative to ``directory``); refusals raise ValueError."""
    if not args:
        await surface.send_text("Usage: /get <path> (a file in this chat's directory)")
        return
    path = confine(args, directory)
    await ChatFileSink(surface, redactor)(FileOffer(path, str(path.relative_to(directory))))


def complete_files(directory: Path, needle: str, limit: int = 25) -> list[tuple[str, str]]:
    """(label, value) pairs of files under ``directory`` whose path contains ``needle``;
    shallow files first. Links that lead outside are not offered."""
    wanted = needle.strip().casefold()
    found: list[str] = []
    seen = 0
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            seen += 1
            path = os.path.join(root, name)
            relative = os.path.relpath(path, directory)
            if wanted in relative.casefold() and _inside(path, directory):
                found.append(relative)
        if seen >= MAX_LISTED:
            break
    found.sort(key=lambda p: (p.count(os.sep), p))
    return [(p[-100:], p) for p in found[:limit] if len(p) <= 100]


def _inside(path: str, directory: Path) -> bool:
    real = Path(os.path.realpath(path))
    return real.is_relative_to(os.path.realpath(directory))
