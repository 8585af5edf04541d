"""Telegram and Discord in one process and one event loop, as ``baton run`` starts them
when both tokens are set: each answers, and one session is picked up from the other.
Scripted turns: which session each turn resumed is the ScriptedRunner's recorded call
(a real resume across apps is the handoff tests')."""

from __future__ import annotations

from pathlib import Path

from session_core.history_lines import read_claude_history
from tests.e2e.discord.conftest import (
    WAIT_S,
    Baton,
    answer_of,
    discord_values,
    final,
    ticking,
)
from tests.e2e.telegram.conftest import USER, answer, say, telegram_values
from tests.fakes.baton_app import baton_settings
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.scripted_runner import ScriptedRunner
from tests.fakes.telegram_api import FakeTelegram


async def test_both_apps_share_one_loop_and_one_session(
    dc: FakeDiscord,
    tg: FakeTelegram,
    claude_env: ClaudeEnv,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
    discord_errors: object,
) -> None:
    values = telegram_values(tg) | discord_values(dc)
    allowed = f"telegram:{USER},discord:{dc.user_id('alice')}"
    values |= {"BATON_ALLOWED_USERS": allowed}
    settings = baton_settings(claude_env, tmp_path / "data", values)
    baton = Baton(settings, dc, apps=("telegram", "discord"), turns=scripted_runner)
    await baton.start()
    try:
        await tg.wait_for_call("getUpdates", timeout=WAIT_S)

        # Telegram starts a session...
        sent = say(tg, "hello from telegram")
        await answer(tg, "to: hello from telegram", after=sent)
        (sid,) = scripted_runner.started

        # ...and a Discord channel following the same directory continues it.
        channel, alice = dc.channel_id(), dc.user_id("alice")
        await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> and now from discord")
        await dc.wait_for_message(
            channel, predicate=final("to: and now from discord"), timeout=WAIT_S
        )
        await dc.wait_for_message(channel, "from Telegram", timeout=WAIT_S)
        call = scripted_runner.calls[-1]
        assert call.prompt == "and now from discord"
        assert (call.session_id, call.force_new, call.fork) == (sid, False, False)
        assert scripted_runner.started == [sid, sid], "Discord continued Telegram's session"

        # Both keep answering commands side by side.
        status = await dc.dispatch_slash_command("status", user_id=alice)
        assert sid[:8] in (await answer_of(dc, status)).content
        sent = say(tg, "/status")
        await answer(tg, sid[:8], after=sent)

        # Both doors at once on the one session: one turn after the other, nothing lost.
        scripted_runner.on_prompt("telegram at once", ticking(4))
        sent = say(tg, "telegram at once")
        await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> discord at once")
        await answer(tg, "tick tick tick tick", after=sent)
        await dc.wait_for_message(channel, predicate=final("to: discord at once"), timeout=WAIT_S)
        turns = [c for c in scripted_runner.calls if "at once" in c.prompt]
        assert sorted(c.prompt for c in turns) == ["discord at once", "telegram at once"]
        assert {c.session_id for c in turns} == {sid}
        assert scripted_runner.started[-2:] == [sid, sid], "one turn after the other"
        history = read_claude_history(claude_env.config_dir / "history.jsonl")
        assert {e.display for e in history[:2]} == {"telegram at once", "discord at once"}
        assert {e.session_id for e in history[:2]} == {sid}
    finally:
        await baton.stop()
    assert dc.violations == []
    assert not dc.gateway_connected
