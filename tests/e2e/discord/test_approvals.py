"""Tool approvals and questions reach Discord as buttons that mention the requester,
and the answer reaches the real CLI (the fake API sees it in the tool result)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, bot_settings, choose, final
from tests.fakes.anthropic import FakeAnthropic, Reply, tool_results
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord, SentMessage


def has_buttons(message: SentMessage) -> bool:
    return any(c.startswith("baton:c:") for c in message.custom_ids)


def touch(name: str) -> Reply:
    return Reply.tool_use("Bash", {"command": f"touch {name} && echo made", "description": "t"})


@pytest.fixture
async def quick_baton(
    dc: FakeDiscord, cli_env: ClaudeEnv, tmp_path: Path, discord_errors: object
) -> AsyncIterator[Baton]:
    """The bot with a one-second approval timeout."""
    settings = bot_settings(dc, cli_env, tmp_path / "data", BATON_APPROVAL_TIMEOUT_S=1)
    async with Baton(settings, dc) as running:
        yield running


async def test_allow_and_deny_a_mutating_command_from_buttons(
    dc: FakeDiscord, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    fake_api.script(touch("allowed.txt"), Reply(text="made it"), touch("denied.txt"), "skipped")

    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> make a file")
    asked = await dc.wait_for_message(channel, "Allow Bash?", predicate=has_buttons, timeout=WAIT_S)
    assert f"<@{alice}>" in asked.content, "the requester is mentioned, so the phone notifies"
    assert "touch allowed.txt" in asked.content
    await choose(dc, asked, "Allow once")
    await dc.wait_for_message(channel, predicate=final("made it"), timeout=WAIT_S)
    assert (cli_env.project / "allowed.txt").exists()
    assert "→ Allow once" in dc.message(asked.id).content
    assert dc.message(asked.id).components == ()

    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> make another")
    second = await dc.wait_for_message(
        channel, "touch denied.txt", predicate=has_buttons, timeout=WAIT_S
    )
    await choose(dc, second, "Deny")
    await dc.wait_for_message(channel, predicate=final("skipped"), timeout=WAIT_S)
    assert not (cli_env.project / "denied.txt").exists()
    assert tool_results(fake_api.messages_requests()[-1])[-1].get("is_error") is True
    assert dc.violations == []


async def test_unanswered_approval_is_denied_and_says_so(
    dc: FakeDiscord, quick_baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    channel = dc.channel_id()
    fake_api.script(touch("never.txt"), Reply(text="gave up"))
    await dc.send_user_message(channel, dc.user_id("alice"), f"<@{dc.bot_user_id}> make a file")
    await dc.wait_for_message(channel, predicate=final("gave up"), timeout=WAIT_S)
    asked = await dc.wait_for_message(channel, "Allow Bash?")
    assert "No answer in time: Deny" in asked.content and asked.components == ()
    assert not (cli_env.project / "never.txt").exists()


async def test_questions_answered_by_button_and_by_typing_reach_the_model(
    dc: FakeDiscord, baton: Baton, fake_api: FakeAnthropic
) -> None:
    def question(text: str) -> Reply:
        return Reply.ask_user_question(text, "Color", ["Red", "Blue"])

    fake_api.script(
        question("Which color?"),
        "blue it is",
        question("And now?"),
        "green then",
        question("Last one?"),
        "red at last",
    )
    alice, channel = dc.user_id("alice"), dc.channel_id()

    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> pick a color")
    asked = await dc.wait_for_message(channel, "Which color?", predicate=has_buttons)
    assert f"<@{alice}>" in asked.content
    await choose(dc, asked, "Blue")
    await dc.wait_for_message(channel, predicate=final("blue it is"), timeout=WAIT_S)
    result = json.dumps(tool_results(fake_api.messages_requests()[-1]))
    assert '\\"Which color?\\"=\\"Blue\\"' in result

    # A typed message answers the open question instead of becoming a prompt.
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> pick again")
    again = await dc.wait_for_message(channel, "And now?", predicate=has_buttons, timeout=WAIT_S)
    await dc.send_user_message(channel, alice, "green")
    await dc.wait_for_message(channel, predicate=final("green then"), timeout=WAIT_S)
    result = json.dumps(tool_results(fake_api.messages_requests()[-1]))
    assert '\\"And now?\\"=\\"green\\"' in result
    assert "→ green" in dc.message(again.id).content

    # /ask answers it too (what people without the message-content intent type).
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> one more")
    await dc.wait_for_message(channel, "Last one?", predicate=has_buttons, timeout=WAIT_S)
    command = await dc.dispatch_slash_command("ask", {"prompt": "red"}, user_id=alice)
    assert "Answered" in (await answer_of(dc, command)).content
    await dc.wait_for_message(channel, predicate=final("red at last"), timeout=WAIT_S)
    result = json.dumps(tool_results(fake_api.messages_requests()[-1]))
    assert '\\"Last one?\\"=\\"red\\"' in result

    prompts = [p for p in fake_api.prompts() if p]  # "" are tool results going back
    assert prompts == ["pick a color", "pick again", "one more"], "answers were no prompts"
    assert dc.violations == []
