"""The last few user/assistant messages of a session transcript, for previews.

A transcript (``projects/<key>/<session>.jsonl``) is mostly bookkeeping: attachments,
request blobs, tool results, system reminders; a one-turn session is already 100-200 KB.
A preview wants the human conversation at its end, so the file is read backwards and only
lines that can be user or assistant messages are decoded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

_BLOCK = 64 << 10
_MAX_LINE = 16 << 20
_ROLE_MARKERS = (b'"type":"user"', b'"type":"assistant"', b'"type": "user"', b'"type": "assistant"')
_HIDDEN_FLAGS = ("isMeta", "isCompactSummary", "isVisibleInTranscriptOnly")
_INJECTED_PREFIXES = (
    "<system-reminder>",
    "<command-name>",
    "<command-message>",
    "<command-args>",
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
    "<bash-stdout>",
    "<bash-stderr>",
    "<user-prompt-submit-hook>",
    "Caveat:",
    "[Request interrupted",
)


@dataclass(frozen=True, slots=True)
class TranscriptMessage:
    """One message as a person would recount it: who, what text, which tools it ran.

    ``tool_names`` lists the tools the assistant used since its previous text, so a
    reply made of several tool calls and one final answer reads as one message.
    """

    role: Literal["user", "assistant"]
    text: str
    timestamp: str | None
    tool_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Piece:
    """One transcript line that matters: a user text, or one assistant content line."""

    role: Literal["user", "assistant"]
    message_id: str | None
    texts: tuple[str, ...]
    tools: tuple[str, ...]
    timestamp: str | None


def _is_injected(text: str) -> bool:
    return text.lstrip().startswith(_INJECTED_PREFIXES)


def _user_texts(content: Any) -> tuple[str, ...]:
    if isinstance(content, str):
        blocks: list[Any] = [{"type": "text", "text": content}]
    elif isinstance(content, list):
        blocks = content
    else:
        return ()
    texts: list[str] = []
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") != "text":
            continue  # tool results, images, documents
        text = block.get("text")
        if isinstance(text, str) and text.strip() and not _is_injected(text):
            texts.append(text.strip())
    return tuple(texts)


def _piece(line: bytes) -> _Piece | None:
    if not any(marker in line for marker in _ROLE_MARKERS):
        return None
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict):
        return None
    kind = entry.get("type")
    if kind not in ("user", "assistant") or entry.get("isSidechain") is True:
        return None
    if any(entry.get(flag) for flag in _HIDDEN_FLAGS):
        return None
    message = entry.get("message")
    if not isinstance(message, dict):
        return None
    timestamp = entry.get("timestamp")
    stamp = timestamp if isinstance(timestamp, str) else None
    if kind == "user":
        texts = _user_texts(message.get("content"))
        return _Piece("user", None, texts, (), stamp) if texts else None
    content = message.get("content")
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    if not isinstance(content, list):
        return None
    texts_found: list[str] = []
    tools: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            if block["text"].strip():
                texts_found.append(block["text"].strip())
        elif block.get("type") in ("tool_use", "server_tool_use"):
            name = block.get("name")
            tools.append(name if isinstance(name, str) else "?")
    if not texts_found and not tools:
        return None  # thinking only
    message_id = message.get("id")
    if not isinstance(message_id, str):
        uuid = entry.get("uuid")
        message_id = uuid if isinstance(uuid, str) else None
    return _Piece("assistant", message_id, tuple(texts_found), tuple(tools), stamp)


def _assemble(pieces: list[_Piece]) -> list[TranscriptMessage]:
    """Join pieces (oldest first) into messages.

    Lines of one assistant message (same ``message.id``) become one message; assistant
    messages that only ran tools lend their tool names to the next assistant text, or
    stand as a text-less message when the reply ended without text.
    """
    out: list[TranscriptMessage] = []
    texts: list[str] = []
    tools: list[str] = []
    stamp: str | None = None
    current_id: str | None = None

    def flush() -> None:
        nonlocal texts, tools, stamp, current_id
        if texts or tools:
            out.append(TranscriptMessage("assistant", "\n\n".join(texts), stamp, tuple(tools)))
        texts, tools, stamp, current_id = [], [], None, None

    for piece in pieces:
        if piece.role == "user":
            flush()
            out.append(TranscriptMessage("user", "\n\n".join(piece.texts), piece.timestamp))
            continue
        same = piece.message_id is not None and piece.message_id == current_id
        if not same and texts:
            flush()  # a new assistant message after one that had text
        if stamp is None:
            stamp = piece.timestamp
        current_id = piece.message_id
        texts.extend(piece.texts)
        tools.extend(piece.tools)
    flush()
    return out


def read_transcript_tail(path: Path, n: int) -> list[TranscriptMessage]:
    """The last ``n`` user/assistant messages of the transcript at ``path``, oldest first.

    System-injected text (reminders, slash-command echoes, interruption notes, tool
    results, side chains) is left out. A missing or unreadable file gives ``[]``.
    """
    if n <= 0:
        return []
    try:
        handle = path.open("rb")
    except OSError:
        return []
    with handle:
        fd = handle.fileno()
        position = os.fstat(fd).st_size
        pieces_backwards: list[_Piece] = []
        carry = b""
        messages: list[TranscriptMessage] = []
        while position > 0:
            start = max(0, position - _BLOCK)
            data = os.pread(fd, position - start, start) + carry
            position = start
            lines = data.split(b"\n")
            carry = lines.pop(0) if position > 0 else b""
            if len(carry) > _MAX_LINE:
                carry = b""  # an oversized line (a request blob); never a message worth showing
            for line in reversed(lines):
                piece = _piece(line)
                if piece is not None:
                    pieces_backwards.append(piece)
            messages = _assemble(pieces_backwards[::-1])
            if len(messages) > n:
                break
    return messages[-n:]


def read_first_prompt(path: Path, *, max_bytes: int = 1 << 20) -> str | None:
    """The first thing the person typed, from the head of the transcript.

    Sessions started by ``claude -p`` or the SDK have no history.jsonl line, so their
    transcript is the only place their opening prompt is recorded.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(max_bytes)
    except OSError:
        return None
    for line in head.split(b"\n"):
        piece = _piece(line)
        if piece is not None and piece.role == "user":
            return "\n\n".join(piece.texts)
    return None
