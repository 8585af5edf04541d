"""Tool approvals and questions reach Discord as buttons that mention the requester.

The first test keeps the real CLI: the answer reaches Claude Code through the SDK's
approval callback (the file is made or not, the fake API sees the tool result). The
others script the turn: the decision is what the ScriptedRunner records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from session_core.events import TextDelta
from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, bot_settings, choose, final
from tests.fakes.anthropic import FakeAnthropic, Reply, tool_results
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord, SentMessage
from tests.fakes.scripted_runner import Ask, ScriptedRunner, ScriptedTurn


def has_buttons(message: SentMessage) -> bool:
    return any(c.startswith("baton:c:") for c in message.custom_ids)


def touch(name: str) -> Reply:
    return Reply.tool_use("Bash", {"command": f"touch {name} && echo made", "description": "t"})


TOUCH_NEVER = {"command": "touch never.txt && echo made", "description": "t"}


def question(text: str) -> Ask:
    """Claude's AskUserQuestion: one single-choice question, Red or Blue."""
    options = [{"label": label, "description": ""} for label in ("Red", "Blue")]
    one = {"question": text, "header": "Color", "options": options, "multiSelect": False}
    return Ask("AskUserQuestion", {"questions": [one]})


@pytest.fixture
async def quick_baton(
    dc: FakeDiscord,
    claude_env: ClaudeEnv,
    tmp_path: Path,
    discord_errors: object,
    scripted_runner: ScriptedRunner,
) -> AsyncIterator[Baton]:
    """The scripted bot with a short approval timeout."""
    settings = bot_settings(dc, claude_env, tmp_path / "data", BATON_APPROVAL_TIMEOUT_S=0.3)
    async with Baton(settings, dc, turns=scripted_runner) as running:
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
    dc: FakeDiscord, quick_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    channel = dc.channel_id()
    scripted_runner.script(ScriptedTurn((Ask("Bash", TOUCH_NEVER), TextDelta("gave up"))))
    await dc.send_user_message(channel, dc.user_id("alice"), f"<@{dc.bot_user_id}> make a file")
    await dc.wait_for_message(channel, predicate=final("gave up"), timeout=WAIT_S)
    asked = await dc.wait_for_message(channel, "Allow Bash?")
    assert "touch never.txt" in asked.content
    assert "No answer in time: Deny" in asked.content and asked.components == ()
    [decision] = scripted_runner.decisions
    assert not decision.allow, "Claude Code is told no"


async def test_questions_answered_by_button_and_by_typing_reach_the_model(
    dc: FakeDiscord, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    scripted_runner.script(
        ScriptedTurn((question("Which color?"), TextDelta("blue it is"))),
        ScriptedTurn((question("And now?"), TextDelta("green then"))),
        ScriptedTurn((question("Last one?"), TextDelta("red at last"))),
    )

    def answers(n: int) -> object:
        decision = scripted_runner.decisions[n]
        assert decision.allow and decision.updated_input is not None
        return decision.updated_input["answers"]

    alice, channel = dc.user_id("alice"), dc.channel_id()

    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> pick a color")
    asked = await dc.wait_for_message(channel, "Which color?", predicate=has_buttons)
    assert f"<@{alice}>" in asked.content
    await choose(dc, asked, "Blue")
    await dc.wait_for_message(channel, predicate=final("blue it is"), timeout=WAIT_S)
    assert answers(0) == {"Which color?": "Blue"}

    # A typed message answers the open question instead of becoming a prompt.
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> pick again")
    again = await dc.wait_for_message(channel, "And now?", predicate=has_buttons, timeout=WAIT_S)
    await dc.send_user_message(channel, alice, "green")
    await dc.wait_for_message(channel, predicate=final("green then"), timeout=WAIT_S)
    assert answers(1) == {"And now?": "green"}
    assert "→ green" in dc.message(again.id).content

    # /ask answers it too (what people without the message-content intent type).
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> one more")
    await dc.wait_for_message(channel, "Last one?", predicate=has_buttons, timeout=WAIT_S)
    command = await dc.dispatch_slash_command("ask", {"prompt": "red"}, user_id=alice)
    assert "Answered" in (await answer_of(dc, command)).content
    await dc.wait_for_message(channel, predicate=final("red at last"), timeout=WAIT_S)
    assert answers(2) == {"Last one?": "red"}

    prompts = [call.prompt for call in scripted_runner.calls]
    assert prompts == ["pick a color", "pick again", "one more"], "answers were no prompts"
    assert dc.violations == []
