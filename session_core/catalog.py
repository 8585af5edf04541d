"""The sessions a person can pick from, as every door (terminal, Telegram, Discord) sees them.

A session is what history.jsonl says about it, plus two facts from the disk: is its
transcript still there (pruned sessions cannot be resumed, so they are never offered for
it), and is it open in a running ``claude`` right now (not counting the bot's own turns).
"""

from __future__ import annotations

import builtins
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from session_core.claude_home import (
    ClaudeHome,
    encode_project_path,
    find_transcript,
    is_safe_session_id,
    transcript_ids,
)
from session_core.history_index import HistoryIndex
from session_core.history_lines import SessionRecord
from session_core.history_scan import directory_sessions
from session_core.liveness import LiveProcess, descendant_pids, read_live_processes
from session_core.transcript import TranscriptMessage, read_first_prompt, read_transcript_tail

_FULL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_TRANSCRIPT_HEAD = 256 << 10
_DIRECT_LOOKUPS = 32


class UnknownSession(ValueError):
    """No session has this id or id prefix."""


class AmbiguousSession(ValueError):
    """Several sessions share this id prefix; ``candidates`` are their ids, newest first."""

    def __init__(self, prefix: str, candidates: tuple[str, ...]) -> None:
        shown = ", ".join(candidate[:8] for candidate in candidates[:5])
        more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
        super().__init__(f"{prefix!r} matches {len(candidates)} sessions: {shown}{more}")
        self.prefix = prefix
        self.candidates = candidates


@dataclass(frozen=True)
class SessionSummary:
    """One session as a picker shows it. ``live`` is a terminal (or other app) holding it."""

    session_id: str
    project: str
    first_prompt: str
    last_prompt: str
    last_activity: datetime
    prompt_count: int
    has_transcript: bool
    live: LiveProcess | None


def summary_of(
    record: SessionRecord, has_transcript: bool, live: LiveProcess | None
) -> SessionSummary:
    return SessionSummary(
        session_id=record.session_id,
        project=record.project,
        first_prompt=record.first_prompt,
        last_prompt=record.last_prompt,
        last_activity=utc_from_ms(record.last_timestamp_ms),
        prompt_count=record.prompt_count,
        has_transcript=has_transcript,
        live=live,
    )


def utc_from_ms(timestamp_ms: int) -> datetime:
    """A history timestamp as an aware UTC time; out of range means the epoch."""
    try:
        return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.fromtimestamp(0, tz=UTC)


class SessionCatalog:
    """Sessions from history.jsonl, with transcript presence, liveness and previews."""

    def __init__(
        self,
        home: ClaudeHome,
        *,
        index: HistoryIndex | None = None,
        own_entrypoint: str = "claude-baton",
    ) -> None:
        self.home = home
        self.index = index if index is not None else HistoryIndex(home.history_path)
        self.own_entrypoint = own_entrypoint

    def _live(self) -> dict[str, LiveProcess]:
        """Sessions held by a running ``claude`` that is not one of the bot's own turns."""
        processes = read_live_processes(
            self.home.sessions_dir, ignore_entrypoints=frozenset({self.own_entrypoint})
        )
        if processes:  # asked only then: listing our own children costs a psutil import
            ours = descendant_pids()
            processes = [process for process in processes if process.pid not in ours]
        live: dict[str, LiveProcess] = {}
        for process in reversed(processes):  # newest process wins
            live[process.session_id] = process
        return live

    def _summary(
        self, record: SessionRecord, has_transcript: bool, live: dict[str, LiveProcess]
    ) -> SessionSummary:
        return summary_of(record, has_transcript, live.get(record.session_id))

    def flags(self) -> tuple[frozenset[str], dict[str, LiveProcess]]:
        """(ids with a transcript, sessions held live by someone else): what a listing of
        every session adds to the records."""
        return transcript_ids(self.home), self._live()

    def list(
        self, directory: str | os.PathLike[str] | None = None, limit: int | None = None
    ) -> builtins.list[SessionSummary]:
        """Sessions newest first: all of them, or those with a prompt in ``directory``."""
        if directory is not None and not self.index.built:
            # One-shot (the CLI): one directory's lines, not the whole file's.
            target = os.path.realpath(os.fspath(directory))
            records = directory_sessions(self.index.path, target, limit=limit)
        else:
            records = self.index.sessions(directory, limit=limit)
        if not records:
            return []
        present = self._with_transcript(records)
        live = self._live()
        return [self._summary(record, record.session_id in present, live) for record in records]

    def _with_transcript(self, records: builtins.list[SessionRecord]) -> set[str]:
        """Which of these sessions still have a transcript.

        A page of a picker checks each transcript where the CLI would have put it; a long
        listing, or any session not found there, costs one walk over ``projects/``.
        """
        wanted = {record.session_id for record in records}
        if len(records) > _DIRECT_LOOKUPS:
            return wanted & transcript_ids(self.home)
        found: set[str] = set()
        for record in records:
            folder = self.home.projects_dir / encode_project_path(record.project)
            if (
                is_safe_session_id(record.session_id)
                and (folder / f"{record.session_id}.jsonl").is_file()
            ):
                found.add(record.session_id)
        if len(found) < len(wanted):
            found |= wanted & transcript_ids(self.home)
        return found

    def get(self, session_id: str) -> SessionSummary | None:
        """One session by exact id.

        Sessions that ``claude -p`` or the SDK started have a transcript but no history
        line; for a full id such a transcript is still found and summarized from its head.
        """
        record = self.index.session(session_id)
        if record is not None:
            transcript = find_transcript(self.home, session_id, hint_directory=record.project)
            return self._summary(record, transcript is not None, self._live())
        if _FULL_ID.fullmatch(session_id) is None:
            return None
        transcript = find_transcript(self.home, session_id)
        if transcript is None:
            return None
        return self._from_transcript(session_id, transcript)

    def project_of(self, session_id: str) -> str | None:
        """Where a session lives, without the liveness scan ``get`` does: what a turn
        needs to run in the session's own directory."""
        record = self.index.session(session_id)
        if record is not None:
            return record.project
        if _FULL_ID.fullmatch(session_id) is None:
            return None
        transcript = find_transcript(self.home, session_id)
        return _transcript_cwd(transcript) if transcript is not None else None

    def _from_transcript(self, session_id: str, transcript: Path) -> SessionSummary:
        project = _transcript_cwd(transcript)
        tail = read_transcript_tail(transcript, 6)
        users = [message.text for message in tail if message.role == "user"]
        first = read_first_prompt(transcript) or ""
        last = users[-1] if users else first
        try:
            modified_ms = int(transcript.stat().st_mtime * 1000)
        except OSError:
            modified_ms = 0
        return SessionSummary(
            session_id=session_id,
            project=project,
            first_prompt=first,
            last_prompt=last,
            last_activity=utc_from_ms(modified_ms),
            prompt_count=0,
            has_transcript=True,
            live=self._live().get(session_id),
        )

    def resolve(self, id_or_prefix: str) -> SessionSummary:
        """The session a person meant by a full id or a unique prefix of one.

        Raises ``UnknownSession`` or ``AmbiguousSession`` (both ``ValueError``) with a
        message fit to show the person.
        """
        wanted = id_or_prefix.strip()
        if not wanted:
            raise UnknownSession("no session id given")
        exact = self.get(wanted)
        if exact is not None:
            return exact
        lowered = wanted.lower()
        matches = [
            record for record in self.index.sessions() if record.session_id.startswith(lowered)
        ]
        if not matches:
            raise UnknownSession(f"no session starts with {wanted!r}")
        if len(matches) > 1:
            raise AmbiguousSession(wanted, tuple(record.session_id for record in matches))
        found = self.get(matches[0].session_id)
        if found is None:  # vanished between the two reads (the file was rewritten)
            raise UnknownSession(f"no session starts with {wanted!r}")
        return found

    def newest_resumable(self, directory: str | os.PathLike[str]) -> SessionSummary | None:
        """The newest session used in ``directory`` whose transcript still exists.

        Sessions whose transcript was pruned cannot be resumed, so they are passed over.
        On a cold index this reads history.jsonl backwards only as far as needed.
        """
        hint = os.path.realpath(os.fspath(directory))
        for session_id in self.index.recent_session_ids(directory):
            if find_transcript(self.home, session_id, hint_directory=hint) is None:
                continue
            record = self.index.session(session_id)
            if record is not None:
                return self._summary(record, True, self._live())
        return None

    def preview(self, session_id: str, n: int = 4) -> builtins.list[TranscriptMessage]:
        """The last ``n`` user/assistant messages of the session, oldest first."""
        record = self.index.session(session_id)
        transcript = find_transcript(
            self.home, session_id, hint_directory=record.project if record else None
        )
        return read_transcript_tail(transcript, n) if transcript else []


def _transcript_cwd(transcript: Path) -> str:
    """The working directory recorded in the transcript's first lines, if any."""
    try:
        with transcript.open("rb") as handle:
            head = handle.read(_TRANSCRIPT_HEAD)
    except OSError:
        return ""
    for line in head.split(b"\n"):
        if b'"cwd"' not in line:
            continue
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(entry, dict) and isinstance(entry.get("cwd"), str):
            return str(entry["cwd"])
    return ""
