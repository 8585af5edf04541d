"""Files back to Discord: Claude's send_to_chat tool and /get (with autocomplete),
confined to the chat's directory and redacted. Scripted turns: the tool calls are
ScriptedRunner ``SendFile`` steps (the real CLI's side of the tool is Telegram's
test_files.py)."""

from __future__ import annotations

from collections.abc import Callable

from session_core.events import TextDelta
from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, final
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
from tests.fakes.scripted_runner import ScriptedRunner, ScriptedTurn, SendFile


def attached(name: str) -> Callable[[SentMessage], bool]:
    return lambda m: any(a.filename == name for a in m.attachments)


def data_of(message: SentMessage, name: str) -> bytes:
    return next(a.data for a in message.attachments if a.filename == name)


async def test_claude_sends_files_and_is_refused_outside(
    dc: FakeDiscord, scripted_baton: Baton, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    outside = make_project_files(claude_env.project)
    sends = (
        SendFile("chart.png", "the chart"),
        SendFile("notes.txt"),
        SendFile(str(outside)),
        SendFile("sneaky.txt"),
    )
    scripted_runner.script(ScriptedTurn((*sends, TextDelta("all sent"))))
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> send me the chart and notes")
    await dc.wait_for_message(channel, predicate=final("all sent"), timeout=WAIT_S)

    image = await dc.wait_for_message(channel, predicate=attached("chart.png"))
    assert data_of(image, "chart.png") == PNG_2X3 and "the chart" in image.content
    notes = await dc.wait_for_message(channel, predicate=attached("notes.txt"))
    assert SECRET not in data_of(notes, "notes.txt").decode()
    names = {a.filename for m in dc.messages(channel) for a in m.attachments}
    assert names == {"chart.png", "notes.txt"}

    results = scripted_runner.sent
    assert [r.is_error for r in results] == [False, False, True, True]
    assert all("outside the session's directory" in r.text for r in results[2:])
    assert scripted_runner.calls[-1].with_file_sink
    assert dc.violations == []


async def test_get_autocompletes_and_fetches(
    dc: FakeDiscord, scripted_baton: Baton, claude_env: ClaudeEnv
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    make_project_files(claude_env.project)
    (claude_env.project / "sub").mkdir()
    (claude_env.project / "sub" / "deep.txt").write_text("deep\n")
    typed = await dc.dispatch_autocomplete("get", "path", "", user_id=alice)
    values = [c["value"] for c in (await dc.wait_for_callback(typed)).choices]
    assert values == ["chart.png", "notes.txt", "sub/deep.txt"]  # sneaky.txt leads outside
    narrowed = await dc.dispatch_autocomplete("get", "path", "dee", user_id=alice)
    assert [c["value"] for c in (await dc.wait_for_callback(narrowed)).choices] == ["sub/deep.txt"]

    got = await dc.dispatch_slash_command("get", {"path": "sub/deep.txt"}, user_id=alice)
    await answer_of(dc, got)
    message = await dc.wait_for_message(channel, predicate=attached("deep.txt"))
    assert data_of(message, "deep.txt") == b"deep\n"

    refused = await dc.dispatch_slash_command("get", {"path": "sneaky.txt"}, user_id=alice)
    assert "outside the session's directory" in (await answer_of(dc, refused)).content
    assert dc.violations == []


async def test_claude_sends_files_and_is_refused_outside_through_the_real_cli(
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
