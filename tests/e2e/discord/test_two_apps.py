"""Telegram and Discord in one process and one event loop, as ``baton run`` starts them
when both tokens are set: each answers, and one session is picked up from the other."""

from __future__ import annotations

from pathlib import Path

from session_core.history_lines import read_claude_history
from tests.e2e.discord.conftest import WAIT_S, Baton, answer_of, discord_values, final
from tests.e2e.telegram.conftest import USER, answer, say, telegram_values
from tests.fakes.anthropic import FakeAnthropic, conversation_text, last_prompt
from tests.fakes.baton_app import baton_settings
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.telegram_api import FakeTelegram


async def test_both_apps_share_one_loop_and_one_session(
    dc: FakeDiscord,
    tg: FakeTelegram,
    cli_env: ClaudeEnv,
    fake_api: FakeAnthropic,
    tmp_path: Path,
    discord_errors: object,
) -> None:
    values = telegram_values(tg) | discord_values(dc)
    allowed = f"telegram:{USER},discord:{dc.user_id('alice')}"
    settings = baton_settings(cli_env, tmp_path / "data", values | {"BATON_ALLOWED_USERS": allowed})
    baton = Baton(settings, dc, apps=("telegram", "discord"))
    await baton.start()
    try:
        await tg.wait_for_call("getUpdates", timeout=WAIT_S)

        # Telegram starts a session...
        sent = say(tg, "hello from telegram")
        await answer(tg, "to: hello from telegram", after=sent)
        (sid,) = {r.session_id for r in fake_api.messages_requests() if r.session_id}

        # ...and a Discord channel following the same directory continues it.
        channel, alice = dc.channel_id(), dc.user_id("alice")
        await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> and now from discord")
        await dc.wait_for_message(
            channel, predicate=final("to: and now from discord"), timeout=WAIT_S
        )
        await dc.wait_for_message(channel, "from Telegram", timeout=WAIT_S)
        request = fake_api.requests_for_session(sid)[-1]
        assert last_prompt(request) == "and now from discord"
        assert "hello from telegram" in conversation_text(request)

        # Both keep answering commands side by side.
        status = await dc.dispatch_slash_command("status", user_id=alice)
        assert sid[:8] in (await answer_of(dc, status)).content
        sent = say(tg, "/status")
        await answer(tg, sid[:8], after=sent)

        # Both doors at once on the one session: one turn after the other, nothing lost.
        sent = say(tg, "SLOW:4 telegram at once")
        await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> discord at once")
        await answer(tg, "tick tick tick tick", after=sent)
        await dc.wait_for_message(channel, predicate=final("to: discord at once"), timeout=WAIT_S)
        turns = [r for r in fake_api.requests_for_session(sid) if "at once" in last_prompt(r)]
        assert sorted(last_prompt(r) for r in turns) == [
            "SLOW:4 telegram at once",
            "discord at once",
        ]
        assert last_prompt(turns[0]) in conversation_text(turns[1])  # the second saw the first
        history = read_claude_history(cli_env.config_dir / "history.jsonl")
        assert {e.display for e in history[:2]} == {"SLOW:4 telegram at once", "discord at once"}
        assert {e.session_id for e in history[:2]} == {sid}
    finally:
        await baton.stop()
    assert dc.violations == []
    assert not dc.gateway_connected
