"""Claude Code's own commands from Discord: /cc with autocomplete over the session's
list, a project's command expanded by the real CLI, terminal-only ones refused,
/context as a table."""

from __future__ import annotations

from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, final
from tests.fakes.anthropic import FakeAnthropic, conversation_text
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.claude_project import add_deploy_command
from tests.fakes.discord_api import FakeDiscord


async def test_cc_autocompletes_forwards_and_refuses(
    dc: FakeDiscord, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    add_deploy_command(cli_env.project)
    typed = await dc.dispatch_autocomplete("cc", "command", "dep", user_id=alice)
    choices = (await dc.wait_for_callback(typed, timeout=WAIT_S)).choices
    assert choices[0]["value"] == "deploy" and "Deploy the service" in choices[0]["name"]
    everything = await dc.dispatch_autocomplete("cc", "command", "", user_id=alice)
    values = [c["value"] for c in (await dc.wait_for_callback(everything)).choices]
    assert len(values) == 25 and "vim" not in values and "login" not in values

    ran = await dc.dispatch_slash_command(
        "cc", {"command": "deploy", "args": "prod-us"}, user_id=alice
    )
    await answer_of(dc, ran)
    await dc.wait_for_message(channel, predicate=final("FAKE-REPLY"), timeout=WAIT_S)
    request = fake_api.messages_requests()[-1]
    assert "Deploy the service to the environment named: prod-us" in conversation_text(request)

    refused = await dc.dispatch_slash_command("cc", {"command": "login"}, user_id=alice)
    assert "needs a terminal" in (await answer_of(dc, refused)).content
    unknown = await dc.dispatch_slash_command("cc", {"command": "nope"}, user_id=alice)
    assert "no Claude Code command /nope" in (await answer_of(dc, unknown)).content

    context = await dc.dispatch_slash_command("context", {}, user_id=alice)
    table = (await answer_of(dc, context)).content
    assert "% used" in table and "Total" in table
    assert dc.violations == []
