"""Fault matrix, Telegram rows: the Bot API answering 5xx for a while.

The real python-telegram-bot against the fake Bot API (tests/e2e/test_fault_matrix.py
has the rows below the apps; the 429 storm is in test_robustness.py).
"""

from __future__ import annotations

from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, prompts, say
from tests.fakes.scripted_runner import ScriptedRunner
from tests.fakes.telegram_api import FakeTelegram


async def test_bot_api_5xx_is_retried_and_the_answer_arrives_once(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner
) -> None:
    """User sees: the answer, a moment late; once, not twice. Kept: the prompt and the
    whole answer. Lost: nothing (sends that got 502 are retried)."""
    tg.outage(3, status=502)
    sent = say(tg, "through a bad gateway")
    done = await answer(tg, "to: through a bad gateway", after=sent, timeout_s=2 * WAIT_S)
    assert "SCRIPTED-REPLY to: through a bad gateway" in done.body
    failed = [c for c in tg.calls() if c.method in ("sendMessage", "editMessageText")]
    assert sum(1 for c in failed if c.status == 502) == 3
    answers = [m for m in tg.sent_messages(USER) if "to: through a bad gateway" in m.body]
    assert len(answers) == 1
    assert prompts(scripted_runner) == ["through a bad gateway"]
