"""Who pressed what on Discord: with BATON_APPROVERS set, another allowed member's click
on an approval is refused to them alone (ephemeral) and audited; every click is audited."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storage import Database
from tests.e2e.discord.conftest import WAIT_S, Baton, bot_settings, component_id, final
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord


async def test_only_an_approver_answers_an_approval_and_every_click_is_audited(
    dc: FakeDiscord,
    cli_env: ClaudeEnv,
    fake_api: FakeAnthropic,
    tmp_path: Path,
    discord_errors: object,
) -> None:
    alice, bob, channel = dc.user_id("alice"), dc.user_id("bob"), dc.channel_id()
    settings = bot_settings(
        dc,
        cli_env,
        tmp_path / "data",
        BATON_ALLOWED_USERS=f"discord:{alice},discord:{bob}",
        BATON_APPROVERS=f"discord:{alice}",
    )
    made = cli_env.project / "made.txt"
    fake_api.script(
        Reply.tool_use("Bash", {"command": "touch made.txt", "description": "make"}),
        Reply(text="made it"),
    )
    async with Baton(settings, dc) as baton:
        await dc.send_user_message(channel, bob, f"<@{dc.bot_user_id}> make a file")
        prompt = await dc.wait_for_message(
            channel, "Allow Bash?", predicate=lambda m: bool(m.custom_ids), timeout=WAIT_S
        )
        custom_id, _ = component_id(prompt, "Allow once")
        click = await dc.click_button(prompt, custom_id, user_id=bob)
        refusal = await dc.wait_for_callback(click)
        assert refusal.ok and refusal.type == 4
        assert "Only an approver" in str(refusal.data) and refusal.data["flags"] == 64
        await asyncio.sleep(0.3)
        assert not await asyncio.to_thread(made.exists)

        await dc.click_button(prompt, custom_id, user_id=alice)
        await dc.wait_for_message(channel, predicate=final("made it"), timeout=WAIT_S)
        assert await asyncio.to_thread(made.exists)
        await baton.stop()

    async with Database.open(settings.data_dir / "baton.sqlite3") as db:
        presses = [e for e in await db.audit.recent(50) if e.action.startswith("press:")]
    assert sorted((e.user_id, e.chat_id, e.action, e.detail, e.allowed) for e in presses) == sorted(
        [
            (str(bob), str(channel), "press:approval", "Allow once", False),
            (str(alice), str(channel), "press:approval", "Allow once", True),
        ]
    )
    assert dc.violations == []
