"""/diff and the approval's change preview on Discord, with a real git repository
(scripted turns: the Write call is the ScriptedRunner's)."""

from __future__ import annotations

from session_core.events import TextDelta
from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, choose, final
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.git_repo import make_repo
from tests.fakes.scripted_runner import Ask, ScriptedRunner, ScriptedTurn

SECRET = "sk-ant-api03-abcdefghijklmnopqrstu"


async def test_diff_outside_a_repo_then_short_then_long(
    dc: FakeDiscord, scripted_baton: Baton, claude_env: ClaudeEnv
) -> None:
    alice, channel, project = dc.user_id("alice"), dc.channel_id(), claude_env.project
    outside = await answer_of(dc, await dc.dispatch_slash_command("diff", {}, user_id=alice))
    assert "not inside a git repository" in outside.content

    make_repo(project, {"app.py": "a = 1\nb = 2\n", "big.txt": "x\n"})
    (project / "app.py").write_text(f"a = 1\nb = 3\ntoken = '{SECRET}'\n")
    (project / "new.txt").write_text("hello\n")
    short = await answer_of(dc, await dc.dispatch_slash_command("diff", {}, user_id=alice))
    assert "M app.py +2 −1" in short.content and "?? new.txt" in short.content
    assert "```diff" in short.content and "+b = 3" in short.content
    assert SECRET not in short.content

    (project / "big.txt").write_text("".join(f"line {n}\n" for n in range(400)))
    long = await answer_of(dc, await dc.dispatch_slash_command("diff", {}, user_id=alice))
    assert "attached" in long.content
    with_file = await dc.wait_for_message(
        channel, predicate=lambda m: any(a.filename == "proj.diff" for a in m.attachments)
    )
    data = next(a.data for a in with_file.attachments if a.filename == "proj.diff").decode()
    assert "+line 399" in data and SECRET not in data
    assert dc.violations == []


async def test_write_approval_shows_the_change(
    dc: FakeDiscord, scripted_baton: Baton, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    target = claude_env.project / "notes.md"
    write = {"file_path": str(target), "content": "first line\nsecond\n"}
    scripted_runner.script(ScriptedTurn((Ask("Write", write), TextDelta("written"))))
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> write notes")
    asked = await dc.wait_for_message(
        channel, "Allow Write?", predicate=lambda m: bool(m.components), timeout=WAIT_S
    )
    assert "```diff" in asked.content and "+first line" in asked.content
    await choose(dc, asked, "Allow once")
    await dc.wait_for_message(channel, predicate=final("written"), timeout=WAIT_S)
    [decision] = scripted_runner.decisions
    assert decision.allow and decision.updated_input in (None, write)


async def test_write_approval_shows_the_change_through_the_real_cli(
    dc: FakeDiscord, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    target = cli_env.project / "notes.md"
    fake_api.script(
        Reply.tool_use("Write", {"file_path": str(target), "content": "first line\nsecond\n"}),
        Reply(text="written"),
    )
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> write notes")
    asked = await dc.wait_for_message(
        channel, "Allow Write?", predicate=lambda m: bool(m.components), timeout=WAIT_S
    )
    assert "```diff" in asked.content and "+first line" in asked.content
    await choose(dc, asked, "Allow once")
    await dc.wait_for_message(channel, predicate=final("written"), timeout=WAIT_S)
    assert target.read_text() == "first line\nsecond\n"
