"""Fault matrix, Discord rows: the gateway drops mid-turn and the session cannot be
resumed (INVALID_SESSION, then a fresh IDENTIFY).

The real discord.py against the fake REST + gateway, the real Claude CLI against the
fake Messages API. The resumable drop (RESUME, missed events replayed) is
test_resilience.py::test_gateway_disconnect_resumes_and_answers_what_was_missed.
"""

from __future__ import annotations

from tests.e2e.discord.conftest import WAIT_S, Baton, final
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.discord_api import FakeDiscord


async def test_invalid_session_mid_turn_identifies_again_and_loses_nothing(
    dc: FakeDiscord, baton: Baton, fake_api: FakeAnthropic
) -> None:
    """User sees: the running answer completes (it goes over REST), and a message sent
    after the reconnect is answered. Kept: the turn, the session. Lost: nothing the bot
    received (Discord itself does not replay events across a fresh IDENTIFY)."""
    alice, channel = dc.user_id("alice"), dc.channel_id()
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> SLOW:12 across the drop")
    await dc.wait_for_message(channel, predicate=lambda m: "tick" in m.content, timeout=WAIT_S)

    await dc.disconnect_gateway(code=4000, resumable=False)
    await dc.wait_until(lambda: dc.identify_count == 2, timeout=WAIT_S, what="a fresh IDENTIFY")
    assert dc.invalid_session_count == 1
    await dc.wait_for_message(channel, predicate=final("tick tick tick"), timeout=WAIT_S)
    await dc.wait_until(lambda: dc.gateway_connected, timeout=WAIT_S, what="reconnected")

    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> after the new session")
    await dc.wait_for_message(channel, predicate=final("to: after the new session"), timeout=WAIT_S)
    assert fake_api.prompts()[-1] == "after the new session"
    assert dc.violations == []
