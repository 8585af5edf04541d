"""One session, terminal and Discord: the seed plan's smoke test, through the real
discord.py client (as ``baton run`` starts it), the fake Discord, and the real CLI
(the seam: a real terminal session resumed from Discord, and back at the desk).
Returning to a session's thread is the app's: scripted sessions and turns."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from session_core.claude_home import ClaudeHome
from session_core.history_lines import read_claude_history
from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, choose, final
from tests.fakes.anthropic import FakeAnthropic, conversation_text, last_prompt
from tests.fakes.claude_cli import ClaudeEnv, run_claude_print, terminal_session
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.scripted_runner import scripted_session


async def test_seed_smoke_terminal_to_discord_and_back(
    dc: FakeDiscord, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    sid = await asyncio.to_thread(terminal_session, cli_env, "first from the terminal")
    alice, channel = dc.user_id("alice"), dc.channel_id("general")

    # (1) /sessions lists the session started in the terminal.
    asked = await dc.dispatch_slash_command("sessions", user_id=alice, channel_id=channel)
    picker = await answer_of(dc, asked)
    assert "Sessions in" in picker.content
    assert all(sid not in custom_id for custom_id in picker.custom_ids)
    assert all(len(custom_id) <= 100 for custom_id in picker.custom_ids)

    # (2) Picking it answers "Resumed session" with a preview, in a thread of its own.
    await choose(dc, picker, "first from the terminal")
    thread = await dc.wait_for_thread(channel, name_contains="first from the terminal")
    assert not thread.private
    resumed = await dc.wait_for_message(thread.id, "Resumed session", timeout=WAIT_S)
    assert sid[:8] in resumed.content
    assert "FAKE-REPLY #1 to: first from the terminal" in resumed.content
    answered = dc.message(picker.id)
    assert answered.components == (), "the picker's buttons are gone"
    assert "→ first from the terminal" in answered.content

    # (3) A message in the thread resumes that terminal session.
    await dc.send_user_message(thread.id, alice, "continue from discord")
    await dc.wait_for_message(
        thread.id, predicate=final("FAKE-REPLY #2 to: continue from discord"), timeout=WAIT_S
    )
    request = fake_api.requests_for_session(sid)[-1]
    assert last_prompt(request) == "continue from discord"
    assert "FAKE-REPLY #1 to: first from the terminal" in conversation_text(request)

    # (4) A session started from Discord is in history.jsonl and resumes at the desk.
    new = await dc.dispatch_slash_command("new", user_id=alice, channel_id=channel)
    link = await answer_of(dc, new)
    fresh = await dc.wait_for_thread(channel, name_contains="New session")
    assert f"<#{fresh.id}>" in link.content, "the command's answer links to the thread"
    await dc.wait_for_message(fresh.id, "next message starts a new session", timeout=WAIT_S)
    await dc.send_user_message(fresh.id, alice, "fresh from discord")
    await dc.wait_for_message(fresh.id, predicate=final("to: fresh from discord"), timeout=WAIT_S)
    entries = read_claude_history(cli_env.config_dir / "history.jsonl")
    newest = entries[0]
    assert newest.display == "fresh from discord"
    assert newest.session_id is not None and newest.session_id != sid
    run = await asyncio.to_thread(
        run_claude_print, cli_env, "back at the desk", resume=newest.session_id
    )
    assert run.returncode == 0, run.stderr
    assert run.session_id == newest.session_id
    assert "fresh from discord" in conversation_text(fake_api.messages_requests()[-1])
    assert dc.violations == []


async def test_picking_a_session_again_returns_to_its_thread(
    dc: FakeDiscord, scripted_baton: Baton, claude_env: ClaudeEnv, claude_home: ClaudeHome
) -> None:
    project = Path(os.path.realpath(claude_env.project))
    sid = scripted_session(claude_home, project, "one thread only")
    alice, channel = dc.user_id("alice"), dc.channel_id("general")
    for _ in range(2):
        asked = await dc.dispatch_slash_command("sessions", user_id=alice, channel_id=channel)
        await choose(dc, await answer_of(dc, asked), "one thread only")
        thread = await dc.wait_for_thread(channel, name_contains="one thread only")
        await dc.wait_for_message(thread.id, "Resumed session", timeout=WAIT_S)
    resumed = await dc.dispatch_slash_command("resume", {"session": sid}, alice, channel)
    await answer_of(dc, resumed)
    await dc.wait_until(
        lambda: sum("Resumed session" in m.content for m in dc.messages(thread.id)) == 3,
        timeout=WAIT_S,
        what="three 'Resumed session' notices in the one thread",
    )
    assert [t.id for t in dc.threads(channel)] == [thread.id]
    assert dc.violations == []
