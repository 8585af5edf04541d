"""Claude sends files to a Discord chat with its send_to_chat tool, through the real Claude
Code CLI (the seam); the other file tests run on scripted turns in ``test_files.py``."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.discord.conftest import WAIT_S, Baton, final
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.chat_files import (
    PNG_2X3,
    SECRET,
    make_project_files,
    script_sends,
    send_results,
)
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord, SentMessage


def attached(name: str) -> Callable[[SentMessage], bool]:
    return lambda m: any(a.filename == name for a in m.attachments)


def data_of(message: SentMessage, name: str) -> bytes:
    return next(a.data for a in message.attachments if a.filename == name)


async def test_claude_sends_files_and_is_refused_outside(
    dc: FakeDiscord, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    outside = make_project_files(cli_env.project)
    script_sends(fake_api, outside, "all sent")
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> send me the chart and notes")
    await dc.wait_for_message(channel, predicate=final("all sent"), timeout=WAIT_S)

    image = await dc.wait_for_message(channel, predicate=attached("chart.png"))
    assert data_of(image, "chart.png") == PNG_2X3 and "the chart" in image.content
    notes = await dc.wait_for_message(channel, predicate=attached("notes.txt"))
    assert SECRET not in data_of(notes, "notes.txt").decode()
    names = {a.filename for m in dc.messages(channel) for a in m.attachments}
    assert names == {"chart.png", "notes.txt"}

    results = send_results(fake_api)
    assert [bool(r.get("is_error")) for r in results] == [False, False, True, True]
    assert all("outside the session's directory" in str(r["content"]) for r in results[2:])
    assert dc.violations == []
