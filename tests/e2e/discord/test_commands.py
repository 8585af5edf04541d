"""Slash commands through the whole bot: autocomplete, a deferred long answer split at
2000 characters, stopping a turn, and people who may not use the bot. Scripted turns."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

import pytest

from chat_adapters.discord import surface as surface_module
from session_core.claude_home import ClaudeHome, project_key
from session_core.events import TextDelta
from session_core.history_writer import append_history_entry
from storage import Database
from tests.e2e.discord.conftest import (
    WAIT_S,
    Baton,
    answer_of,
    final,
    has_stop,
    streamed,
)
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord, SentMessage
from tests.fakes.scripted_runner import Hold, Pause, ScriptedRunner, ScriptedTurn

LIMIT = 2000


def fabricated_sessions(claude_env: ClaudeEnv, count: int) -> list[str]:
    """``count`` sessions with history lines and (minimal) transcripts, without running
    the CLI ``count`` times: the catalog only needs the files to exist."""
    home = ClaudeHome(claude_env.config_dir)
    project = os.path.realpath(claude_env.project)
    folder = home.projects_dir / project_key(project)
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for n in range(count):
        sid = str(uuid.UUID(int=n + 1))
        prompt = f"task {n:02d} about something"
        line = {"type": "user", "sessionId": sid, "message": {"role": "user", "content": prompt}}
        (folder / f"{sid}.jsonl").write_text(json.dumps(line) + "\n")
        append_history_entry(
            home.history_path,
            display=prompt,
            project=project,
            session_id=sid,
            timestamp_ms=1_700_000_000_000 + n * 1000,
        )
        ids.append(sid)
    return ids


async def test_resume_autocompletes_at_most_25_sessions(
    dc: FakeDiscord, scripted_baton: Baton, claude_env: ClaudeEnv
) -> None:
    ids = fabricated_sessions(claude_env, 30)
    alice = dc.user_id("alice")
    typed = await dc.dispatch_autocomplete("resume", "session", "", user_id=alice)
    callback = await dc.wait_for_callback(typed)
    assert callback.ok and callback.type == 8
    assert callback.latency_s < 3
    assert len(callback.choices) == 25
    assert all(1 <= len(c["name"]) <= 100 for c in callback.choices)
    assert callback.choices[0]["value"] == ids[-1], "newest first"
    assert "task 29" in callback.choices[0]["name"]

    narrowed = await dc.dispatch_autocomplete("resume", "session", "task 1", user_id=alice)
    names = [c["name"] for c in (await dc.wait_for_callback(narrowed)).choices]
    assert len(names) == 10 and all("task 1" in n for n in names)

    folders = await dc.dispatch_autocomplete("cd", "directory", "", user_id=alice)
    values = [c["value"] for c in (await dc.wait_for_callback(folders)).choices]
    assert str(claude_env.project) in values  # already resolved

    # The picked value is what /resume gets.
    picked = await dc.dispatch_slash_command("resume", {"session": ids[3]}, user_id=alice)
    await answer_of(dc, picked)
    thread = await dc.wait_for_thread(dc.channel_id(), name_contains="task 03")
    resumed = await dc.wait_for_message(thread.id, "Resumed session", timeout=WAIT_S)
    assert ids[3][:8] in resumed.content
    assert dc.violations == []


async def test_deferred_long_answer_is_split_at_2000_keeping_code_intact(
    dc: FakeDiscord, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    code = "".join(f"line_{i:03d} = {i}\n" for i in range(160))
    prose = " ".join(f"w{i:04d}" for i in range(330))
    answer = f"{prose}\n\n```python\n{code}```\n\n" + " ".join(f"w{i:04d}" for i in range(400, 700))
    scripted_runner.script(streamed(answer, chunks=40, delay_s=0.02))
    channel = dc.channel_id()

    asked = await dc.dispatch_slash_command("ask", {"prompt": "write a lot"})
    first = await answer_of(dc, asked)
    await dc.wait_for_message(channel, predicate=final("w0699"), timeout=WAIT_S)
    sent = _bot_messages(dc, channel)
    assert sent[0].id == first.id, "the answer starts in the command's deferred response"
    assert len(sent) >= 3
    assert all(len(m.content) <= LIMIT for m in sent)
    shown = "\n".join(m.content for m in sent)
    assert re.findall(r"\bw\d{4}\b", shown) == re.findall(r"\bw\d{4}\b", answer)
    assert re.findall(r"\bline_\d{3}\b", shown) == re.findall(r"\bline_\d{3}\b", answer)
    for message in sent:
        fences = [ln for ln in message.content.splitlines() if ln.startswith("```")]
        assert len(fences) % 2 == 0, f"a code fence left open in: {message.content[-200:]!r}"
    split = [m for m in sent if "line_" in m.content]
    assert len(split) >= 2 and all("```python" in m.content for m in split)
    assert not any(has_stop(m) for m in sent)
    assert dc.rate_limited_total == 0


async def test_stop_button_and_stop_command_interrupt_the_turn(
    dc: FakeDiscord, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    held = ScriptedTurn((TextDelta("tick "), Pause(0.01), TextDelta("tick "), Hold()))
    scripted_runner.script(held, held)

    # The Stop button on the live message.
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> count slowly")
    live = await dc.wait_for_message(channel, "tick", predicate=has_stop, timeout=WAIT_S)
    custom_id = next(c for c in live.custom_ids if c.startswith("baton:s:"))
    press = await dc.click_button(live, custom_id, user_id=alice)
    assert (await dc.wait_for_callback(press)).ok
    stopped = await dc.wait_for_message(channel, predicate=final("Interrupted"), timeout=WAIT_S)
    assert stopped.id == live.id and "tick" in stopped.content

    # /stop while the next turn streams.
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> again")
    second = await dc.wait_for_message(
        channel, "tick", predicate=lambda m: has_stop(m) and m.id != live.id, timeout=WAIT_S
    )
    command = await dc.dispatch_slash_command("stop", user_id=alice, channel_id=channel)
    reply = await answer_of(dc, command)
    assert "Stopping" in reply.content
    done = await dc.wait_for_message(
        channel, predicate=lambda m: m.id == second.id and final("Interrupted")(m), timeout=WAIT_S
    )
    assert "tick" in done.content and done.content.count("tick") <= 2
    assert scripted_runner.interrupts == scripted_runner.started, "both turns were stopped"
    assert dc.violations == []


async def test_strangers_get_an_ephemeral_refusal_and_reach_nothing(
    dc: FakeDiscord, scripted_baton: Baton, tmp_path: Path, scripted_runner: ScriptedRunner
) -> None:
    baton = scripted_baton
    bob, channel = dc.user_id("bob"), dc.channel_id()
    try:
        asked = await dc.dispatch_slash_command("ask", {"prompt": "let me in"}, user_id=bob)
        callback = await dc.wait_for_callback(asked)
        assert callback.ok and callback.type == 4 and callback.latency_s < 3
        refusal = dc.original_response(asked)
        assert refusal is not None and refusal.ephemeral
        assert "not allowed" in refusal.content

        typed = await dc.dispatch_autocomplete("resume", "session", "", user_id=bob)
        assert (await dc.wait_for_callback(typed)).choices == []

        first = await dc.send_user_message(channel, bob, f"<@{dc.bot_user_id}> hello bot")
        await dc.wait_for_message(channel, "not allowed", predicate=lambda m: not m.ephemeral)
        await dc.send_user_message(channel, bob, f"<@{dc.bot_user_id}> hello again")
        await dc.dispatch_slash_command("help", user_id=bob)  # another refusal, ephemeral
        await dc.wait_until(lambda: len(dc.callbacks()) >= 3, what="the /help refusal")
        public = [m for m in _bot_messages(dc, channel) if not m.ephemeral]
        assert len(public) == 1, "one public refusal per person, not one per message"
        assert public[0].content.startswith("Sorry") and first.id != public[0].id

        # Alice's picker: Bob's click is refused to him alone and changes nothing.
        picker = await answer_of(dc, await dc.dispatch_slash_command("sessions"))
        new_session = next(c for c in picker.custom_ids if c.startswith("baton:c:"))
        click = await dc.click_button(picker, new_session, user_id=bob)
        answered = await dc.wait_for_callback(click)
        assert answered.ok and answered.type == 4 and answered.latency_s < 3
        assert dc.message(picker.id).components == picker.components
        assert dc.threads() == []
    finally:
        await baton.stop()
    assert scripted_runner.calls == [], "nothing reached Claude"
    async with Database.open(tmp_path / "data" / "baton.sqlite3") as db:
        refused = [e for e in await db.audit.recent(20) if not e.allowed]
    assert {e.user_id for e in refused} == {str(bob)}
    assert [e.action for e in refused] == ["/ask"], "one refusal row per person per minute"
    autocompleted = [e for e in refused if e.action.startswith("autocomplete")]
    assert autocompleted == [], "autocomplete keystrokes are not audited"
    assert dc.violations == []


def _bot_messages(dc: FakeDiscord, channel_id: int) -> list[SentMessage]:
    return [
        m
        for m in dc.messages(channel_id)
        if m.author_id == dc.bot_user_id and m.type in (0, 19, 20)
    ]


async def test_a_command_silent_until_its_token_runs_out_replaces_thinking(
    dc: FakeDiscord,
    scripted_baton: Baton,
    scripted_runner: ScriptedRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Interaction tokens die after 15 minutes; here "15 minutes" is 0.1 s, less than
    the turn's silence, so the placeholder is replaced before the answer comes."""
    monkeypatch.setattr(surface_module, "INTERACTION_SAFE_S", 0.1)
    scripted_runner.script(ScriptedTurn((Pause(0.4), TextDelta("slow reply to: take your time"))))
    channel = dc.channel_id()
    asked = await dc.dispatch_slash_command("ask", {"prompt": "take your time"})
    placeholder = await answer_of(dc, asked)
    assert placeholder.content == surface_module.STILL_WORKING
    answer = await dc.wait_for_message(
        channel, predicate=final("to: take your time"), timeout=WAIT_S
    )
    assert answer.interaction_id is None, "the answer came as a channel message"
    assert dc.violations == []
