"""Who pressed what on Discord: with BATON_APPROVERS set, another allowed member's click
on an approval is refused to them alone (ephemeral) and audited; every click is audited."""

from __future__ import annotations

from pathlib import Path

from session_core.events import TextDelta
from storage import Database
from tests.e2e.discord.conftest import WAIT_S, Baton, bot_settings, component_id, final
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.scripted_runner import Ask, ScriptedRunner, ScriptedTurn


async def test_only_an_approver_answers_an_approval_and_every_click_is_audited(
    dc: FakeDiscord,
    claude_env: ClaudeEnv,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
    discord_errors: object,
) -> None:
    alice, bob, channel = dc.user_id("alice"), dc.user_id("bob"), dc.channel_id()
    settings = bot_settings(
        dc,
        claude_env,
        tmp_path / "data",
        BATON_ALLOWED_USERS=f"discord:{alice},discord:{bob}",
        BATON_APPROVERS=f"discord:{alice}",
    )
    bash = Ask("Bash", {"command": "touch made.txt", "description": "make"})
    scripted_runner.script(ScriptedTurn((bash, TextDelta("made it"))))
    async with Baton(settings, dc, turns=scripted_runner) as baton:
        await dc.send_user_message(channel, bob, f"<@{dc.bot_user_id}> make a file")
        prompt = await dc.wait_for_message(
            channel, "Allow Bash?", predicate=lambda m: bool(m.custom_ids), timeout=WAIT_S
        )
        custom_id, _ = component_id(prompt, "Allow once")
        click = await dc.click_button(prompt, custom_id, user_id=bob)
        refusal = await dc.wait_for_callback(click)
        assert refusal.ok and refusal.type == 4
        assert "Only an approver" in str(refusal.data) and refusal.data["flags"] == 64
        assert scripted_runner.decisions == [], "Bob's click decided nothing"

        await dc.click_button(prompt, custom_id, user_id=alice)
        await dc.wait_for_message(channel, predicate=final("made it"), timeout=WAIT_S)
        [decision] = scripted_runner.decisions
        assert decision.allow
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
