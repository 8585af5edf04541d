"""Recorded SDK message streams: record them from the real CLI, replay them offline.

The recorder sits at the SDK's public ``Transport`` seam around the real subprocess
transport and keeps the raw stream-json frames the CLI printed for one turn. The
replayer is a ``Transport`` that answers the control handshake and plays those frames
back, so ``claude_agent_sdk.query`` parses them exactly as it parses a live CLI.

Re-record (after an SDK/CLI upgrade): ``uv run python -m tests.fakes.sdk_streams``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from claude_agent_sdk import ClaudeSDKClient, Message, Transport, query
from claude_agent_sdk._internal.transport.subprocess_cli import SubprocessCLITransport

from session_core.sdk_options import build_options
from session_core.sdk_values import TurnOptions
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import isolated_claude_env

FIXTURES = Path(__file__).resolve().parent.parent / "unit" / "fixtures"


def load_frames(name: str) -> list[dict[str, Any]]:
    path = FIXTURES / f"sdk_{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class ReplayTransport(Transport):
    """Plays recorded CLI frames back to the SDK after the prompt arrives."""

    def __init__(self, frames: list[dict[str, Any]]) -> None:
        self._frames = frames
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def connect(self) -> None:
        return None

    async def write(self, data: str) -> None:
        for line in data.splitlines():
            message = json.loads(line)
            if message.get("type") == "control_request":
                response = {
                    "subtype": "success",
                    "request_id": message["request_id"],
                    "response": {},
                }
                self._queue.put_nowait({"type": "control_response", "response": response})
            elif message.get("type") == "user":
                for frame in self._frames:
                    self._queue.put_nowait(frame)
                self._queue.put_nowait(None)

    async def read_messages(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            frame = await self._queue.get()
            if frame is None:
                return
            yield frame

    async def close(self) -> None:
        self._queue.put_nowait(None)

    def is_ready(self) -> bool:
        return True

    async def end_input(self) -> None:
        return None


async def replay(frames: list[dict[str, Any]]) -> list[Message]:
    """The typed SDK messages the recorded frames parse into."""
    return [m async for m in query(prompt="replayed", transport=ReplayTransport(frames))]


class _RecordingTransport(Transport):
    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.frames: list[dict[str, Any]] = []

    async def connect(self) -> None:
        await self.inner.connect()

    async def write(self, data: str) -> None:
        await self.inner.write(data)

    async def read_messages(self) -> AsyncIterator[dict[str, Any]]:
        async for frame in self.inner.read_messages():
            if not str(frame.get("type", "")).startswith("control_"):
                self.frames.append(frame)
            yield frame

    async def close(self) -> None:
        await self.inner.close()

    def is_ready(self) -> bool:
        return self.inner.is_ready()

    async def end_input(self) -> None:
        await self.inner.end_input()


async def _empty() -> AsyncIterator[dict[str, Any]]:
    return
    yield {}


async def record_turn(
    fake: FakeAnthropic,
    root: Path,
    prompt: str,
    *,
    interrupt_after_deltas: int | None = None,
    max_turns: int | None = None,
    max_budget_usd: float | None = None,
) -> list[dict[str, Any]]:
    world = isolated_claude_env(root, fake.url)
    options = build_options(
        TurnOptions(
            cwd=str(world.project),
            env=world.env,
            max_turns=max_turns,
            max_budget_usd=max_budget_usd,
        )
    )
    recorder = _RecordingTransport(SubprocessCLITransport(prompt=_empty(), options=options))
    client = ClaudeSDKClient(options, transport=recorder)
    await client.connect()
    recorder.frames.clear()
    try:
        await client.query(prompt)
        deltas = 0
        async for message in client.receive_response():
            event = getattr(message, "event", None)
            if isinstance(event, dict) and event.get("type") == "content_block_delta":
                deltas += 1
                if deltas == interrupt_after_deltas:
                    await client.interrupt()
    finally:
        await client.disconnect()
    return recorder.frames


Scenario = tuple[str, str, dict[str, Any], Callable[[FakeAnthropic], None] | None]

SCENARIOS: list[Scenario] = [
    ("text", "hello", {}, None),
    ("tool", 'TOOL:Bash {"command": "echo hi"}', {}, None),
    (
        "text_and_tool",
        "look first",
        {},
        lambda fake: fake.script(
            Reply.tool_use("Bash", {"command": "echo hi"}, text="Let me look. ")
        ),
    ),
    ("denied", 'TOOL:Bash {"command": "touch made.txt"}', {}, None),
    ("interrupt", "SLOW:8", {"interrupt_after_deltas": 3}, None),
    ("api_error", "ERROR:500", {}, None),
    ("max_turns", 'TOOL:Bash {"command": "echo hi"}', {"max_turns": 1}, None),
    ("budget", 'TOOL:Bash {"command": "echo hi"}', {"max_budget_usd": 0.0001}, None),
]


async def record_all(out_dir: Path = FIXTURES) -> None:
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic(slow_delay_s=0.2) as fake:
        for name, prompt, kwargs, prepare in SCENARIOS:
            fake.clear_script()
            if prepare is not None:
                prepare(fake)
            frames = await record_turn(fake, Path(tmp) / name, prompt, **kwargs)
            path = out_dir / f"sdk_{name}.jsonl"
            path.write_text("".join(json.dumps(f) + "\n" for f in frames), encoding="utf-8")
            print(f"{path}: {len(frames)} frames", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(record_all())
