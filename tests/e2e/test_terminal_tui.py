"""Handoff with the real terminal UI: chat sessions show up in `claude --resume`'s
picker, and a session open in a terminal makes the chat ask before writing to it."""

from __future__ import annotations

import asyncio
import json

import pytest

from chat_adapters.chat_input import Sender
from chat_adapters.dispatch import ChatDispatcher
from session_core.claude_home import ClaudeHome, find_transcript
from session_core.history_lines import read_claude_history
from storage import ChatKey
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.memory_surface import MemorySurface
from tests.fakes.tui import Tui, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="needs tmux (.ci/run installs it)")

ALICE = Sender(app="telegram", user_id="1")
CHAT = ChatKey.of("telegram", 7)


async def wait_for_text(surface: MemorySurface, text: str, timeout_s: float = 60.0) -> None:
    async with asyncio.timeout(timeout_s):
        while text not in "\n".join(m.display for m in surface.messages):
            await asyncio.sleep(0.05)


async def test_chat_session_is_listed_in_the_terminal_picker(
    dispatcher: ChatDispatcher, claude_env: ClaudeEnv
) -> None:
    surface = MemorySurface()
    await dispatcher.on_text(surface, CHAT, ALICE, "started on the phone")
    await wait_for_text(surface, "FAKE-REPLY #1 to: started on the phone")
    sid = read_claude_history(claude_env.config_dir / "history.jsonl")[0].session_id
    assert sid is not None

    with Tui(claude_env, claude_env.project, "--resume") as tui:
        screen = await asyncio.to_thread(tui.wait_for, "started on the phone")
    assert "No sessions" not in screen


async def test_tui_session_open_in_tmux_asks_and_fork_keeps_it_untouched(
    dispatcher: ChatDispatcher, claude_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    with Tui(claude_env, claude_env.project) as tui:
        await asyncio.to_thread(tui.wait_for, "shift+tab")
        tui.type("hello from the tui")
        tui.press("Enter")
        await asyncio.to_thread(tui.wait_for, "FAKE-REPLY #1 to: hello from the tui")
        history = claude_env.config_dir / "history.jsonl"
        entries = read_claude_history(history)
        assert entries and entries[0].display == "hello from the tui"
        sid = entries[0].session_id
        assert sid is not None
        transcript = find_transcript(ClaudeHome(claude_env.config_dir), sid)
        assert transcript is not None
        before = transcript.read_bytes()
        live = [
            json.loads(p.read_text()) for p in (claude_env.config_dir / "sessions").glob("*.json")
        ]
        assert [entry["sessionId"] for entry in live] == [sid]

        surface = MemorySurface()
        await dispatcher.on_text(surface, CHAT, ALICE, "from the phone meanwhile")
        async with asyncio.timeout(60):
            while surface.pending_prompt is None:
                await asyncio.sleep(0.05)
        prompt = surface.pending_prompt
        assert prompt is not None
        assert [o.label for o in prompt.options] == ["Fork", "Continue anyway", "Cancel"]
        assert str(live[0]["pid"]) in prompt.body
        surface.choose("Fork")
        await wait_for_text(surface, "to: from the phone meanwhile")

        # The idle TUI may still append its own bookkeeping; the bot wrote nothing there.
        after = transcript.read_bytes()
        assert after.startswith(before)
        assert b"from the phone meanwhile" not in after
        assert b'"entrypoint":"claude-baton"' not in after
        forked = read_claude_history(history)[0]
        assert forked.display == "from the phone meanwhile" and forked.session_id != sid
        request = fake_api.messages_requests()[-1]
        assert request.session_id == forked.session_id
        assert "hello from the tui" in json.dumps(request.messages)
