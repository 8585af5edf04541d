"""The bot keeps working through a gateway disconnect (RESUME) and a restart: missed
messages are answered, and buttons from before a restart answer clearly instead of
failing. Scripted turns."""

from __future__ import annotations

from pathlib import Path

from chat_adapters.interactions import EXPIRED_AFTER_RESTART
from tests.e2e.discord.conftest import (
    WAIT_S,
    Baton,
    answer_of,
    bot_settings,
    component_id,
    final,
)
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.scripted_runner import ScriptedRunner


async def test_gateway_disconnect_resumes_and_answers_what_was_missed(
    dc: FakeDiscord, scripted_baton: Baton
) -> None:
    alice, channel = dc.user_id("alice"), dc.channel_id()
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> before the drop")
    await dc.wait_for_message(channel, predicate=final("to: before the drop"), timeout=WAIT_S)

    assert await dc.disconnect_gateway(code=4000) == 1
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> while you were away")
    await dc.wait_until(lambda: dc.resumed_count == 1, timeout=WAIT_S, what="RESUME")
    await dc.wait_for_message(channel, predicate=final("to: while you were away"), timeout=WAIT_S)
    assert (dc.identify_count, dc.resume_count) == (1, 1), "resumed, not re-identified"

    asked = await dc.dispatch_slash_command("status", user_id=alice)
    status = await answer_of(dc, asked)
    assert "Directory" in status.content
    assert dc.violations == []


async def test_a_picker_from_before_a_restart_says_the_bot_restarted(
    dc: FakeDiscord,
    claude_env: ClaudeEnv,
    tmp_path: Path,
    discord_errors: object,
    scripted_runner: ScriptedRunner,
) -> None:
    settings = bot_settings(dc, claude_env, tmp_path / "data")
    first = Baton(settings, dc, turns=scripted_runner)
    await first.start()
    try:
        picker = await answer_of(dc, await dc.dispatch_slash_command("sessions"))
        custom_id, _ = component_id(picker, "➕ New session")
    finally:
        await first.stop()

    second = Baton(settings, dc, turns=scripted_runner)
    await second.start()
    try:
        click = await dc.click_button(picker, custom_id)
        callback = await dc.wait_for_callback(click)
        assert callback.ok and callback.latency_s < 3
        after = dc.message(picker.id)
        assert after.components == (), "dead buttons are taken off the message"
        assert EXPIRED_AFTER_RESTART in after.content, "the same words as on Telegram"
        assert dc.threads() == [], "a stale button does nothing else"
    finally:
        await second.stop()
    assert dc.violations == []
