"""Transcript previews: the human conversation at the end of a noisy transcript file.

The lines are shaped after the real CLI 2.1.330 lines in the reference document (§5):
bookkeeping lines, attachments, one assistant line per content block sharing a
``message.id``, tool results as user lines, and injected system text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_core import transcript
from session_core.transcript import TranscriptMessage, read_transcript_tail

SID = "e6685a18-0000-4000-8000-000000000000"
_counter = iter(range(1_000_000))


def _base(kind: str, **extra: Any) -> dict[str, Any]:
    n = next(_counter)
    return {
        "parentUuid": None,
        "isSidechain": False,
        "type": kind,
        "uuid": f"uuid-{n}",
        "timestamp": f"2026-11-24T00:19:{n % 60:02d}.000Z",
        "userType": "external",
        "entrypoint": "sdk-py",
        "cwd": "/home/u/work/proj",
        "sessionId": SID,
        "version": "2.1.330",
        **extra,
    }


def user(content: Any, **extra: Any) -> dict[str, Any]:
    return _base("user", message={"role": "user", "content": content}, **extra)


def assistant(message_id: str, *blocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    message = {"id": message_id, "type": "message", "role": "assistant", "content": list(blocks)}
    return _base("assistant", message=message, **extra)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{name}", "name": name, "input": {"command": "ls"}}


def tool_result(name: str) -> dict[str, Any]:
    return user([{"tool_use_id": f"toolu_{name}", "type": "tool_result", "content": "made"}])


def bookkeeping(size: int = 200) -> list[dict[str, Any]]:
    return [
        {"type": "queue-operation", "operation": "enqueue", "sessionId": SID, "content": "x"},
        _base("attachment", attachment={"type": "environment", "blob": "e" * size}),
        {"type": "api-request-blob", "sessionId": SID, "blob": "b" * size},
        {"type": "last-prompt", "lastPrompt": "x", "sessionId": SID},
        {"type": "cost-state", "sessionId": SID, "totalCostUSD": 0.00014},
    ]


def write(path: Path, entries: list[dict[str, Any]], tail: bytes = b"") -> Path:
    body = b"".join(
        json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for e in entries
    )
    path.write_bytes(body + tail)
    return path


def turn(prompt: str, answer: str, *tools: str, blob: int = 200) -> list[dict[str, Any]]:
    """One SDK turn as the CLI records it, tools first, then the answer."""
    lines = [*bookkeeping(blob), user(prompt, promptId="p")]
    for i, name in enumerate(tools):
        lines += [assistant(f"msg_{prompt}_{i}", tool_use(name)), tool_result(name)]
    lines.append(
        assistant(f"msg_{prompt}_end", {"type": "thinking", "thinking": "hmm", "signature": "s"})
    )
    lines.append(assistant(f"msg_{prompt}_end", text(answer)))
    return lines


def test_last_turns_in_order(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", turn("first", "one") + turn("second", "two"))
    assert [(m.role, m.text) for m in read_transcript_tail(path, 4)] == [
        ("user", "first"),
        ("assistant", "one"),
        ("user", "second"),
        ("assistant", "two"),
    ]
    assert [m.text for m in read_transcript_tail(path, 3)] == ["one", "second", "two"]
    assert [m.text for m in read_transcript_tail(path, 100)] == ["first", "one", "second", "two"]
    last = read_transcript_tail(path, 1)[0]
    assert last.timestamp is not None and last.timestamp.startswith("2026-11-24T")


def test_lines_of_one_assistant_message_are_merged(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.jsonl",
        [
            user("do it"),
            assistant("msg_1", text("Let me look.")),
            assistant("msg_1", tool_use("Bash")),
            assistant("msg_1", tool_use("Read")),
            tool_result("Bash"),
            tool_result("Read"),
            assistant("msg_2", text("Done.")),
        ],
    )
    assert read_transcript_tail(path, 5) == [
        TranscriptMessage("user", "do it", _stamp(path, 0)),
        TranscriptMessage("assistant", "Let me look.", _stamp(path, 1), ("Bash", "Read")),
        TranscriptMessage("assistant", "Done.", _stamp(path, 6)),
    ]


def _stamp(path: Path, index: int) -> str:
    return str(json.loads(path.read_text().splitlines()[index])["timestamp"])


def test_tool_only_steps_are_summarized_on_the_answer(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", turn("fix it", "Fixed.", "Bash", "Edit", "Bash"))
    assert [(m.role, m.text, m.tool_names) for m in read_transcript_tail(path, 2)] == [
        ("user", "fix it", ()),
        ("assistant", "Fixed.", ("Bash", "Edit", "Bash")),
    ]


def test_a_reply_that_stopped_after_tools(tmp_path: Path) -> None:
    lines = [user("go"), assistant("m1", tool_use("Bash")), tool_result("Bash")]
    path = write(tmp_path / "t.jsonl", lines)
    assert [(m.role, m.text, m.tool_names) for m in read_transcript_tail(path, 2)] == [
        ("user", "go", ()),
        ("assistant", "", ("Bash",)),
    ]


def test_system_injected_text_is_left_out(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.jsonl",
        [
            user("real question"),
            user("<system-reminder>be nice</system-reminder>"),
            user("injected", isMeta=True),
            user("<command-name>/model</command-name>\n<command-message>model</command-message>"),
            user("<local-command-stdout>Set model</local-command-stdout>"),
            user("Caveat: The messages below were generated by the user while running local"),
            user("[Request interrupted by user]"),
            user([text("[Request interrupted by user for tool use]")]),
            user("summary of earlier conversation", isCompactSummary=True),
            user("subagent prompt", isSidechain=True),
            assistant("side", text("subagent answer"), isSidechain=True),
            tool_result("Bash"),
            user([text("with picture"), {"type": "image", "source": {}}]),
            user([text("visible"), text("<system-reminder>hidden</system-reminder>")]),
            assistant("m", text("answer")),
        ],
    )
    assert [m.text for m in read_transcript_tail(path, 10)] == [
        "real question",
        "with picture",
        "visible",
        "answer",
    ]


def test_broken_and_partial_lines_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write(path, [user("before")], tail=b'not json "type":"user"\n\xff\xfe\n')
    with path.open("ab") as handle:
        handle.write(json.dumps(assistant("m", text("ok"))).encode() + b"\n")
        handle.write(b'{"type":"user","message":{"role":"user","content":"half-writ')
    assert [m.text for m in read_transcript_tail(path, 5)] == ["before", "ok"]


def test_missing_file_and_zero(tmp_path: Path) -> None:
    assert read_transcript_tail(tmp_path / "none.jsonl", 4) == []
    path = write(tmp_path / "t.jsonl", turn("a", "b"))
    assert read_transcript_tail(path, 0) == []


def test_a_large_transcript_is_read_from_the_end(tmp_path: Path) -> None:
    # Hundreds of KB of request blobs, as in a real transcript, across many blocks.
    entries: list[dict[str, Any]] = []
    for i in range(40):
        entries += turn(f"q{i}", f"a{i}", "Bash", blob=20_000)
    path = write(tmp_path / "t.jsonl", entries)
    assert path.stat().st_size > 1_000_000
    assert [m.text for m in read_transcript_tail(path, 4)] == ["q38", "a38", "q39", "a39"]


# --------------------------------------------------------------------------- property

STEPS = st.lists(
    st.sampled_from(["user", "text", "tool", "tool_same", "result", "noise", "meta"]),
    max_size=40,
)


def _build(steps: list[str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    message = 0
    for i, step in enumerate(steps):
        if step == "user":
            entries.append(user(f"u{i}"))
        elif step == "text":
            message += 1
            entries.append(assistant(f"m{message}", text(f"t{i}")))
        elif step == "tool":
            message += 1
            entries.append(assistant(f"m{message}", tool_use(f"T{i}")))
        elif step == "tool_same":
            entries.append(assistant(f"m{message}", tool_use(f"S{i}")))
        elif step == "result":
            entries.append(tool_result("Bash"))
        elif step == "noise":
            entries += bookkeeping(50)
        else:
            entries.append(user("<system-reminder>x</system-reminder>"))
    return entries


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(transcript, "_BLOCK", 101)
    yield


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS, n=st.integers(1, 8))
def test_reading_backwards_equals_reading_everything(
    tmp_path_factory: pytest.TempPathFactory, tiny_blocks: None, steps: list[str], n: int
) -> None:
    path = write(tmp_path_factory.mktemp("tail") / "t.jsonl", _build(steps))
    everything = read_transcript_tail(path, 10_000)
    assert read_transcript_tail(path, n) == everything[-n:]
    assert all(m.text or m.tool_names for m in everything)
