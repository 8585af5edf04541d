"""What the model writes and what sessions are called reach Discord redacted: messages,
the session picker and a session's thread name never show a key or the bot's token."""

from __future__ import annotations

import os
from pathlib import Path

from session_core.claude_home import ClaudeHome
from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, final, streamed
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.scripted_runner import ScriptedRunner, scripted_session

KEY = "sk-ant-api03-Zx9kLmNoPqRsTuVwXyZ0123456789"
SLACK = "xoxb-1234567890-abcdefghijklmnop"


async def test_secrets_never_reach_discord(
    dc: FakeDiscord,
    scripted_baton: Baton,
    scripted_runner: ScriptedRunner,
    claude_env: ClaudeEnv,
    claude_home: ClaudeHome,
) -> None:
    project = Path(os.path.realpath(claude_env.project))
    sid = scripted_session(claude_home, project, f"rotate {KEY} please")
    alice, channel = dc.user_id("alice"), dc.channel_id("general")
    text = (
        f"Your token is {dc.token}; Slack says {SLACK}. Authorization: "
        f"Bearer abcdefghijklmnopqrstuvwxyz012345. Done here."
    )
    scripted_runner.script(streamed(text, chunks=17, delay_s=0.01))
    asked = await dc.dispatch_slash_command("ask", {"prompt": "show secrets"}, alice, channel)
    await answer_of(dc, asked)
    await dc.wait_for_message(channel, predicate=final("Done here."), timeout=WAIT_S)

    picker = await dc.dispatch_slash_command("sessions", user_id=alice, channel_id=channel)
    shown = await answer_of(dc, picker)
    assert "rotate [REDACTED]" in str(shown.components) + shown.content
    resumed = await dc.dispatch_slash_command("resume", {"session": sid}, alice, channel)
    await answer_of(dc, resumed)
    thread = await dc.wait_for_thread(channel, name_contains="rotate")
    await dc.wait_for_message(thread.id, "Resumed session", timeout=WAIT_S)

    seen = [
        (m.content, str(m.components)) for where in (channel, thread.id) for m in dc.messages(where)
    ]
    everything = repr(seen) + repr([t.name for t in dc.threads(channel)])
    for secret in (dc.token, KEY, "Zx9kLmNoPq", SLACK, "abcdefghijklmnopqrstuvwxyz"):
        assert secret not in everything, secret
    assert "[REDACTED]" in thread.name
