"""The shared command layer's seams end to end: an in-memory chat surface, the real
Claude CLI and FakeAnthropic. Only what needs the real CLI is here (a chat's session
resumed at the desk, approvals and answers reaching the model, forks, images); the
command layer's own behaviour runs over the ScriptedRunner in tests/commands/. The
Telegram and Discord suites check the same flows through their own fake servers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from chat_adapters.chat_input import Attachment, Sender
from chat_adapters.dispatch import ChatDispatcher
from session_core.claude_home import ClaudeHome, find_transcript
from session_core.history_lines import read_claude_history
from storage import ChatKey, Database
from tests.fakes.anthropic import FakeAnthropic, Reply, conversation_text, tool_results
from tests.fakes.claude_cli import ClaudeEnv, run_claude_print, terminal_session
from tests.fakes.memory_surface import TELEGRAM_LIKE, MemorySurface

ALICE = Sender(app="telegram", user_id="1", display_name="alice")
MALLORY = Sender(app="telegram", user_id="666", display_name="mallory")
CHAT = ChatKey.of("telegram", 100)
WAIT_S = 60.0
UNPACED = dataclasses.replace(TELEGRAM_LIKE, min_edit_interval_s=0.0)
"""Telegram's limits without its pacing: tests of the command layer need not wait a
second between a reply's edits."""


async def until(check: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.05)
    assert check(), what


def seen(surface: MemorySurface) -> str:
    """Everything the chat shows now, status lines included."""
    return "\n".join(m.display for m in surface.messages)


def shows(surface: MemorySurface, text: str) -> Callable[[], bool]:
    return lambda: text in seen(surface)


async def test_first_message_starts_a_session_the_terminal_can_resume(
    dispatcher: ChatDispatcher,
    claude_env: ClaudeEnv,
    database: Database,
    fake_api: FakeAnthropic,
) -> None:
    surface = MemorySurface()
    await dispatcher.on_text(surface, CHAT, ALICE, "hello from the phone")
    await until(shows(surface, "FAKE-REPLY #1 to: hello from the phone"), "the answer")
    await until(lambda: bool(read_claude_history(claude_env.config_dir / "history.jsonl")), "")

    entries = read_claude_history(claude_env.config_dir / "history.jsonl")
    assert [e.display for e in entries] == ["hello from the phone"]
    sid = entries[0].session_id
    assert sid is not None
    await until(lambda: not dispatcher.runner.busy(sid), "turn released")
    await asyncio.sleep(0.2)  # the usage row is written right after the final message
    assert await database.usage.session_cost(sid) > 0
    assert [d.door for d in await database.doors.doors(sid)] == ["telegram"]

    # The terminal continues it, and sees the chat's turn.
    run = run_claude_print(claude_env, "back at the desk", resume=sid)
    assert run.returncode == 0 and run.session_id == sid
    assert "hello from the phone" in conversation_text(fake_api.messages_requests()[-1])


@pytest.mark.parametrize("press", ["Allow once", "Deny"])
async def test_mutating_bash_waits_for_the_chat(
    dispatcher: ChatDispatcher,
    claude_env: ClaudeEnv,
    fake_api: FakeAnthropic,
    press: str,
) -> None:
    """No answer in time is a denial too: tests/commands/test_chat_approvals.py."""
    made = claude_env.project / "made.txt"
    fake_api.script(
        Reply.tool_use("Bash", {"command": "touch made.txt && echo made", "description": "t"}),
        Reply(text="all done"),
    )
    surface = MemorySurface()
    await dispatcher.on_text(surface, CHAT, ALICE, "make a file")
    await until(lambda: surface.pending_prompt is not None, "approval prompt")
    prompt = surface.pending_prompt
    assert prompt is not None and prompt.title == "Allow Bash?"
    assert "touch made.txt" in prompt.body
    surface.choose(press)
    await until(shows(surface, "all done"), "the final answer")
    assert made.exists() == (press == "Allow once")
    result = tool_results(fake_api.messages_requests()[-1])[-1]
    assert result.get("is_error", False) == (press != "Allow once")


async def test_ask_user_question_answer_reaches_the_model(
    dispatcher: ChatDispatcher, fake_api: FakeAnthropic
) -> None:
    fake_api.script(
        Reply.ask_user_question("Which color?", "Color", ["Red", "Blue"]), Reply(text="blue it is")
    )
    surface = MemorySurface()
    await dispatcher.on_text(surface, CHAT, ALICE, "pick a color")
    await until(lambda: surface.pending_prompt is not None, "question")
    surface.choose("Blue")
    await until(shows(surface, "blue it is"), "answer")
    result = json.dumps(tool_results(fake_api.messages_requests()[-1]))
    assert '\\"Which color?\\"=\\"Blue\\"' in result


async def test_session_open_in_a_terminal_asks_and_fork_leaves_it_untouched(
    dispatcher: ChatDispatcher, claude_env: ClaudeEnv, claude_home: ClaudeHome
) -> None:
    sid = terminal_session(claude_env, "terminal work")
    transcript = find_transcript(claude_home, sid)
    assert transcript is not None
    before = transcript.read_bytes()
    # Not our child: the catalog ignores the bot's own processes.
    spawn = await asyncio.to_thread(
        subprocess.run,
        ["sh", "-c", "sleep 120 >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
    )
    holder_pid = int(spawn.stdout.strip())
    try:
        sessions = claude_env.config_dir / "sessions"
        sessions.mkdir(exist_ok=True)
        (sessions / f"{holder_pid}.json").write_text(
            json.dumps(
                {
                    "pid": holder_pid,
                    "sessionId": sid,
                    "cwd": str(claude_env.project),
                    "startedAt": 1795650034803,
                    "kind": "interactive",
                    "entrypoint": "cli",
                }
            )
        )
        surface = MemorySurface()
        await dispatcher.on_text(surface, CHAT, ALICE, "from the phone")
        await until(lambda: surface.pending_prompt is not None, "the fork question")
        prompt = surface.pending_prompt
        assert prompt is not None and str(holder_pid) in prompt.body
        surface.choose("Fork")
        await until(shows(surface, "to: from the phone"), "answer")
    finally:
        os.kill(holder_pid, signal.SIGKILL)
    assert transcript.read_bytes() == before
    entries = read_claude_history(claude_env.config_dir / "history.jsonl")
    assert entries[0].display == "from the phone" and entries[0].session_id != sid


@pytest.mark.parametrize("press", ["Approve", "Keep planning"])
async def test_plan_mode_shows_the_plan_and_the_answer_reaches_the_model(
    dispatcher: ChatDispatcher, fake_api: FakeAnthropic, press: str
) -> None:
    surface = MemorySurface()
    await dispatcher.on_command(surface, CHAT, ALICE, "mode", "plan")
    assert "Mode: plan" in seen(surface)
    fake_api.script(
        Reply.tool_use("ExitPlanMode", {"plan": "1. read the parser\n2. add tests"}),
        Reply(text="plan answered"),
    )
    await dispatcher.on_text(surface, CHAT, ALICE, "plan the refactor")
    await until(lambda: surface.pending_prompt is not None, "plan approval")
    prompt = surface.pending_prompt
    assert prompt is not None and "2. add tests" in prompt.body
    surface.choose(press)
    await until(shows(surface, "plan answered"), "final answer")
    request = fake_api.messages_requests()[-1]
    assert request.body["messages"]  # the CLI kept the conversation
    result = tool_results(request)[-1]
    assert bool(result.get("is_error", False)) == (press == "Keep planning")
    if press == "Keep planning":
        assert "keep planning" in json.dumps(result)


async def test_photos_reach_the_model_as_image_blocks_and_files_as_paths(
    dispatcher: ChatDispatcher, fake_api: FakeAnthropic, tmp_path: Path
) -> None:
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
    surface = MemorySurface()
    await dispatcher.on_text(
        surface,
        CHAT,
        ALICE,
        "what is this?",
        [
            Attachment("image", "photo.png", png, "image/png"),
            Attachment("document", "../notes.md", b"# Notes\n", "text/markdown"),
        ],
    )
    await until(shows(surface, "FAKE-REPLY"), "the answer")
    content = [
        block
        for message in fake_api.messages_requests()[-1].messages
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
    ]
    images = [block for block in content if block.get("type") == "image"]
    assert images and images[0]["source"]["media_type"] == "image/png"
    texts = "\n".join(block.get("text", "") for block in content)
    assert "what is this?" in texts
    saved = re.search(r"saved at (\S+) \(text/markdown\)", texts)
    assert saved is not None
    assert Path(saved.group(1)).parent == tmp_path / "inbox"
    assert Path(saved.group(1)).read_bytes() == b"# Notes\n"
