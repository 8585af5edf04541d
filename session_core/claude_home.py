"""Where Claude Code keeps its files, and how it names a project's folder.

The bot keeps no session table: history.jsonl, the transcripts under ``projects/`` and
the live-process registry under ``sessions/`` are the truth, so every path to them is
derived here, once, exactly as the CLI derives it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

MAX_KEY_LENGTH = 200
"""The CLI truncates longer keys and appends a hash so a key fits one path component."""

_NOT_ALNUM = re.compile(r"[^a-zA-Z0-9]")
_SAFE_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class ClaudeHome:
    """One Claude Code config directory (``CLAUDE_CONFIG_DIR`` or ``~/.claude``)."""

    config_dir: Path

    @property
    def history_path(self) -> Path:
        return self.config_dir / "history.jsonl"

    @property
    def projects_dir(self) -> Path:
        return self.config_dir / "projects"

    @property
    def sessions_dir(self) -> Path:
        return self.config_dir / "sessions"

    @classmethod
    def resolve(cls, claude_config_dir: str | None, home: Path) -> ClaudeHome:
        """Mirror the CLI: a non-empty ``CLAUDE_CONFIG_DIR`` wins, else ``<home>/.claude``.

        The caller passes the variable's value in, because session_core never reads the
        environment itself.
        """
        if claude_config_dir:
            return cls(Path(os.path.expanduser(claude_config_dir)))
        return cls(home / ".claude")


def _js_hash(text: str) -> int:
    """The CLI's 32-bit ``h = (h << 5) - h + charCode | 0`` over UTF-16 code units."""
    units = text.encode("utf-16-le", "surrogatepass")
    h = 0
    for i in range(0, len(units), 2):
        h = ((h << 5) - h + (units[i] | units[i + 1] << 8)) & 0xFFFFFFFF
    return h - 0x100000000 if h & 0x80000000 else h


def _base36(number: int) -> str:
    if number == 0:
        return "0"
    digits: list[str] = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_BASE36[rest])
    return "".join(reversed(digits))


def _dashes(match: re.Match[str]) -> str:
    # JS regexes replace per UTF-16 code unit: an astral character is two units.
    return "--" if ord(match.group()) > 0xFFFF else "-"


def encode_project_path(path: str) -> str:
    """The CLI's folder name for an already-resolved path (its function ``KN``).

    Unlike the SDK's Python copy, an astral character (an emoji, say) becomes two dashes,
    because the CLI's JavaScript regex works on UTF-16 code units.
    """
    name = _NOT_ALNUM.sub(_dashes, path)
    if len(name) <= MAX_KEY_LENGTH:
        return name
    return f"{name[:MAX_KEY_LENGTH]}-{_base36(abs(_js_hash(path)))}"


def project_key(directory: str | os.PathLike[str]) -> str:
    """The folder under ``projects/`` where the CLI keeps transcripts started in ``directory``.

    The path is resolved first (symlinks too), as the CLI's working directory always is.
    """
    return encode_project_path(os.path.realpath(os.fspath(directory)))


def is_safe_session_id(session_id: str) -> bool:
    """True for names that can be used in a glob or a path without escaping anything.

    Session ids are UUIDs; anything with ``/``, ``*``, ``[`` or ``..`` in it is refused so a
    chat message can never steer a lookup outside ``projects/``.
    """
    return _SAFE_SESSION_ID.fullmatch(session_id) is not None


def find_transcript(
    home: ClaudeHome, session_id: str, *, hint_directory: str | None = None
) -> Path | None:
    """The transcript file of ``session_id``, wherever the CLI put it.

    A resumed session keeps appending to the file in its *original* project folder, and
    long or non-ASCII paths may be encoded differently by other tools, so the encoding is
    only a fast first guess (``hint_directory``); the answer comes from looking.
    """
    if not is_safe_session_id(session_id):
        return None
    name = f"{session_id}.jsonl"
    if hint_directory:
        guess = home.projects_dir / encode_project_path(hint_directory) / name
        if guess.is_file():
            return guess
    try:
        folders = os.scandir(home.projects_dir)
    except OSError:
        return None
    with folders:
        for folder in folders:
            candidate = Path(folder.path) / name
            if candidate.is_file():
                return candidate
    return None


def transcript_ids(home: ClaudeHome) -> frozenset[str]:
    """Every session id that has a transcript, from one pass over ``projects/*/``.

    A listing asks "has a transcript?" for many sessions; one directory walk answers all
    of them instead of one walk per session.
    """
    found: set[str] = set()
    try:
        folders = os.scandir(home.projects_dir)
    except OSError:
        return frozenset()
    with folders:
        for folder in folders:
            try:
                if not folder.is_dir():
                    continue
                with os.scandir(folder.path) as files:
                    for entry in files:
                        if entry.name.endswith(".jsonl"):
                            found.add(entry.name[: -len(".jsonl")])
            except OSError:
                continue
    return frozenset(found)
