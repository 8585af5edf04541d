"""``/diff`` and the change preview in Edit/Write/MultiEdit approvals.

On a phone the question is "what did it change?": ``/diff`` answers with one summary
line per file (from ``git status`` and ``git diff --numstat``), then the diff itself,
inline when it is short and as a ``.diff`` file when it is long. The approval preview
answers "what will it change?" with a unified diff built by :mod:`difflib` from the
tool's input. Both pass through the redactor: a diff is output like any other.
"""

from __future__ import annotations

import asyncio
import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chat_adapters.redaction import Redactor
from chat_adapters.surface import Surface

INLINE_DIFF_CHARS = 1500
"""A diff up to this long is shown in the chat; a longer one is sent as a file."""
PREVIEW_CHARS = 900
"""The most an approval's diff preview holds."""
MAX_FILES_LISTED = 40
GIT_TIMEOUT_S = 20.0
_EDIT_TOOLS = ("Edit", "Write", "MultiEdit")


@dataclass(frozen=True, slots=True)
class FileChange:
    """One line of ``git status --porcelain`` with its line counts (None: binary)."""

    status: str
    path: str
    added: int | None = None
    removed: int | None = None

    def summary(self) -> str:
        counts = ""
        if self.added is not None and self.removed is not None:
            counts = f" +{self.added} −{self.removed}"
        elif self.status != "??":
            counts = " (binary)"
        return f"{self.status.strip() or 'M'} {self.path}{counts}"


@dataclass(frozen=True, slots=True)
class DiffReport:
    """What ``/diff`` found in a directory; ``in_repo`` False outside any git repository."""

    in_repo: bool
    changes: tuple[FileChange, ...] = ()
    diff: str = ""
    error: str = ""


class GitFailed(Exception):
    """git ran but said no (or is missing)."""


_NO_PROGRAMS = ("-c", "core.quotepath=off", "-c", "core.fsmonitor=false")
"""/diff runs outside approvals, in a repository Claude can write to: its config must
not get a program run (``core.fsmonitor`` runs one on every ``git status``)."""
_PLAIN_DIFF = ("--no-ext-diff", "--no-textconv", "--no-color")
"""Nor may ``diff.external`` or a textconv driver from ``.gitattributes``."""


async def _git(directory: Path, *args: str) -> str:
    try:
        process = await asyncio.create_subprocess_exec(
            "git",
            *_NO_PROGRAMS,
            *args,
            cwd=directory,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise GitFailed(f"git could not run: {exc}") from exc
    try:
        out, err = await asyncio.wait_for(process.communicate(), GIT_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise GitFailed("git took too long") from None
    if process.returncode != 0:
        raise GitFailed(err.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
    return out.decode("utf-8", "replace")


async def collect(directory: Path) -> DiffReport:
    """``git status`` and the diff against HEAD (or the index, before a first commit)."""
    try:
        inside = await _git(directory, "rev-parse", "--is-inside-work-tree")
    except GitFailed:
        return DiffReport(in_repo=False)
    if inside.strip() != "true":
        return DiffReport(in_repo=False)
    try:
        status = await _git(directory, "status", "--porcelain=v1", "--untracked-files=all", ".")
        try:
            await _git(directory, "rev-parse", "--verify", "-q", "HEAD")
            base: tuple[str, ...] = ("HEAD",)
        except GitFailed:
            base = ("--cached",)  # no commit yet: what is staged is the change
        numstat = await _git(directory, "diff", *_PLAIN_DIFF, "--numstat", *base, "--", ".")
        diff = await _git(directory, "diff", *_PLAIN_DIFF, *base, "--", ".")
    except GitFailed as exc:
        return DiffReport(in_repo=True, error=str(exc))
    return DiffReport(in_repo=True, changes=parse_status(status, numstat), diff=diff)


def parse_status(status: str, numstat: str) -> tuple[FileChange, ...]:
    """Join ``git status --porcelain`` lines with ``git diff --numstat`` counts."""
    counts: dict[str, tuple[int | None, int | None]] = {}
    for line in numstat.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        plus, minus = parts[0], parts[1]
        counts[parts[-1]] = (
            int(plus) if plus.isdigit() else None,
            int(minus) if minus.isdigit() else None,
        )
    changes = []
    for line in status.splitlines():
        if len(line) < 4:
            continue
        code, path = line[:2], line[3:]
        if " -> " in path:
            path = path.split(" -> ", 1)[1]
        path = path.strip('"')
        added, removed = counts.get(path, (None, None))
        changes.append(FileChange(code, path, added, removed))
    return tuple(changes)


@dataclass(frozen=True, slots=True)
class DiffMessage:
    """What the chat gets: a text, and the diff as a file when it is too long to show."""

    text: str
    file_name: str | None = None
    file_data: bytes = b""


def render(report: DiffReport, directory: Path, redact: Redactor) -> DiffMessage:
    """The chat's view of a :class:`DiffReport`."""
    if not report.in_repo:
        return DiffMessage(f"`{directory}` is not inside a git repository: nothing to diff.")
    if report.error:
        return DiffMessage(f"⚠️ git failed in `{directory}`: {redact(report.error)[:300]}")
    if not report.changes:
        return DiffMessage(f"No changes in `{directory}` (git status is clean).")
    shown = report.changes[:MAX_FILES_LISTED]
    lines = [f"**{len(report.changes)} changed file{'s' if len(report.changes) != 1 else ''}**"]
    lines.extend(redact(change.summary()) for change in shown)
    if len(report.changes) > len(shown):
        lines.append(f"… and {len(report.changes) - len(shown)} more")
    summary = "\n".join(lines)
    diff = redact(report.diff)
    if not diff.strip():
        return DiffMessage(summary + "\n\n(no tracked changes: only new files)")
    if len(diff) <= INLINE_DIFF_CHARS:
        return DiffMessage(f"{summary}\n\n```diff\n{_unfenced(diff.rstrip())}\n```")
    name = f"{directory.name or 'changes'}.diff"
    return DiffMessage(
        f"{summary}\n\nThe diff ({len(diff.splitlines())} lines) is attached as `{name}`.",
        name,
        diff.encode("utf-8", "replace"),
    )


async def show_diff(surface: Surface, directory: Path, redact: Redactor) -> None:
    """``/diff``: collect, render, send (the file too when the surface takes files)."""
    message = render(await collect(directory), directory, redact)
    caps = surface.capabilities
    if message.file_name is None:
        await surface.send_text(message.text)
        return
    if caps.supports_files and len(message.file_data) <= caps.max_file_bytes:
        await surface.send_text(message.text)
        await surface.deliver_file(message.file_name, message.file_data, "git diff")
        return
    head = message.file_data.decode("utf-8", "replace")[:INLINE_DIFF_CHARS]
    await surface.send_text(
        message.text.rsplit("\n\n", 1)[0]
        + f"\n\nThe diff is too long for this chat; its start:\n```diff\n{_unfenced(head)}\n```"
    )


# -- the approval preview ----------------------------------------------------------------


def change_preview(
    tool_name: str, tool_input: Mapping[str, Any], redact: Redactor, limit: int = PREVIEW_CHARS
) -> str:
    """A unified diff of what Edit/Write/MultiEdit would do, bounded and redacted; "" for
    other tools or an input that says nothing."""
    if tool_name not in _EDIT_TOOLS:
        return ""
    path = tool_input.get("file_path")
    if not isinstance(path, str) or not path:
        return ""
    if tool_name == "Write":
        content = tool_input.get("content")
        if not isinstance(content, str):
            return ""
        before = _read_text(path)
        return _bounded(_unified(before or "", content, path), redact, limit)
    edits: Sequence[Any]
    if tool_name == "MultiEdit":
        raw = tool_input.get("edits")
        edits = raw if isinstance(raw, list) else []
    else:
        edits = [tool_input]
    hunks: list[str] = []
    for edit in edits:
        if not isinstance(edit, Mapping):
            continue
        old, new = edit.get("old_string"), edit.get("new_string")
        if isinstance(old, str) and isinstance(new, str):
            hunks.append(_unified(old, new, path, header=not hunks))
    return _bounded("".join(hunks), redact, limit)


def _unified(before: str, after: str, path: str, *, header: bool = True) -> str:
    name = os.path.basename(path)
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
        n=2,
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    if not header:
        text = "".join(text.splitlines(keepends=True)[2:])
    return text


def _bounded(diff: str, redact: Redactor, limit: int) -> str:
    diff = _unfenced(redact(diff).rstrip())
    if len(diff) <= limit:
        return diff
    cut = diff[:limit].rsplit("\n", 1)[0]
    left = len(diff.splitlines()) - len(cut.splitlines())
    return f"{cut}\n… {left} more line{'s' if left != 1 else ''}"


def _read_text(path: str, cap: int = 512 * 1024) -> str | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(cap + 1)
    except OSError:
        return None
    if len(data) > cap or b"\0" in data:
        return None
    return data.decode("utf-8", "replace")


def _unfenced(text: str) -> str:
    """A diff inside a code fence must not close it."""
    return text.replace("```", "`\u200b``")
