"""Fault matrix, Discord rows: the gateway drops mid-turn and the session cannot be
resumed (INVALID_SESSION, then a fresh IDENTIFY).

The real discord.py against the fake REST + gateway; the turn is scripted, held
until the gateway is back. The resumable drop (RESUME, missed events replayed) is
test_resilience.py::test_gateway_disconnect_resumes_and_answers_what_was_missed.
"""

from __future__ import annotations

from session_core.events import TextDelta
from tests.e2e.discord.conftest import WAIT_S, Baton, final
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.scripted_runner import Hold, ScriptedRunner, ScriptedTurn


async def test_invalid_session_mid_turn_identifies_again_and_loses_nothing(
    dc: FakeDiscord, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    """User sees: the running answer completes (it goes over REST), and a message sent
    after the reconnect is answered. Kept: the turn, the session. Lost: nothing the bot
    received (Discord itself does not replay events across a fresh IDENTIFY)."""
    alice, channel = dc.user_id("alice"), dc.channel_id()
    tick = TextDelta("tick ")
    scripted_runner.script(ScriptedTurn((tick, Hold(), tick, tick)))
    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> across the drop")
    await dc.wait_for_message(channel, predicate=lambda m: "tick" in m.content, timeout=WAIT_S)

    await dc.disconnect_gateway(code=4000, resumable=False)
    await dc.wait_until(lambda: dc.identify_count == 2, timeout=WAIT_S, what="a fresh IDENTIFY")
    assert dc.invalid_session_count == 1
    scripted_runner.release()  # the turn goes on after the drop
    await dc.wait_for_message(channel, predicate=final("tick tick tick"), timeout=WAIT_S)
    await dc.wait_until(lambda: dc.gateway_connected, timeout=WAIT_S, what="reconnected")

    await dc.send_user_message(channel, alice, f"<@{dc.bot_user_id}> after the new session")
    await dc.wait_for_message(channel, predicate=final("to: after the new session"), timeout=WAIT_S)
    assert scripted_runner.calls[-1].prompt == "after the new session"
    assert dc.violations == []
