"""The whole bot as ``baton run`` builds it, against the fake Bot API and the real CLI.

``baton`` starts :func:`chat_adapters.app.serve` for Telegram only, with settings that
point at :class:`FakeTelegram` (``TELEGRAM_API_URL``) and at the isolated Claude world
of ``claude_env`` (whose CLI talks to FakeAnthropic). The test plays the user through
the fake server and reads the chat back from it. :class:`Baton` can be stopped and
started again on the same data (restart tests).

``scripted_baton`` is the same bot with scripted turns (``ScriptedRunner``) instead of
the real CLI: the tests whose subject is what the chat shows use it. ``baton`` (the real
CLI) stays for the seam with Claude Code. Both run :func:`unpaced`; ``paced_baton``
(scripted) keeps Telegram's pacing and flood control for the tests about them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from chat_adapters.settings import Settings
from chat_adapters.telegram import api as telegram_api
from session_core.events import TextDelta
from session_core.turn_source import TurnSource
from tests.fakes.baton_app import WAIT_S as WAIT_S  # re-exported for the suite
from tests.fakes.baton_app import RunningBaton, baton_settings
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.scripted_runner import Pause, ScriptedRunner, ScriptedTurn, Step
from tests.fakes.telegram_api import ChatMessage, FakeTelegram, RateLimits

USER = 4242
STRANGER = 6666


class Baton(RunningBaton):
    """The bot with Telegram only, ready once it polls for updates."""

    def __init__(
        self, settings: Settings, tg: FakeTelegram, turns: TurnSource | None = None
    ) -> None:
        super().__init__(settings, ("telegram",), turns)
        self.tg = tg

    def until_ready(self) -> Awaitable[object]:
        return self.tg.wait_for_call("getUpdates", since=self.tg.mark(), timeout=WAIT_S)


def telegram_values(tg: FakeTelegram) -> dict[str, object]:
    """The settings that point the bot at ``tg``."""
    return {"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_URL": tg.root_url}


def bot_settings(
    tg: FakeTelegram, claude_env: ClaudeEnv, data_dir: Path, **overrides: object
) -> Settings:
    values = telegram_values(tg) | {"BATON_ALLOWED_USERS": f"telegram:{USER}"}
    return baton_settings(claude_env, data_dir, values | overrides)


@pytest.fixture
async def baton(
    tg: FakeTelegram, cli_env: ClaudeEnv, tmp_path: Path, unpaced: None
) -> AsyncIterator[Baton]:
    """The bot over the real CLI (the seam tests), unpaced."""
    async with Baton(bot_settings(tg, cli_env, tmp_path / "data"), tg) as running:
        yield running


UNPACED_INTERVAL_S = 0.02


@pytest.fixture
def unpaced(tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    """Flood control off in the fake and the bot's per-chat pacing (one operation a
    second, three in groups) down to a few milliseconds, as the surface harness runs:
    a test about what the chat shows then waits for no clock. Pacing and flood control
    are tested with them on (``paced_baton``, test_surface.py, test_flood.py)."""
    tg.flood.configure(RateLimits(enabled=False))
    monkeypatch.setattr(telegram_api, "PRIVATE_EDIT_INTERVAL_S", UNPACED_INTERVAL_S)
    monkeypatch.setattr(telegram_api, "GROUP_EDIT_INTERVAL_S", UNPACED_INTERVAL_S)


@pytest.fixture
async def scripted_baton(
    tg: FakeTelegram,
    claude_env: ClaudeEnv,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
    unpaced: None,
) -> AsyncIterator[Baton]:
    """The bot over ``scripted_runner``, unpaced: script its turns, read its calls."""
    settings = bot_settings(tg, claude_env, tmp_path / "data")
    async with Baton(settings, tg, turns=scripted_runner) as running:
        yield running


@pytest.fixture
async def paced_baton(
    tg: FakeTelegram, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner, tmp_path: Path
) -> AsyncIterator[Baton]:
    """The bot over ``scripted_runner`` with Telegram's pacing and flood control."""
    settings = bot_settings(tg, claude_env, tmp_path / "data")
    async with Baton(settings, tg, turns=scripted_runner) as running:
        yield running


def ticks(n: int, delay_s: float = 0.05, word: str = "tick ") -> ScriptedTurn:
    """``n`` words streamed ``delay_s`` apart (the fake API's ``SLOW:n``)."""
    steps: list[Step] = []
    for _ in range(n):
        steps += [TextDelta(word), Pause(delay_s)]
    return ScriptedTurn(tuple(steps))


def prompts(runner: ScriptedRunner) -> list[str]:
    """The prompts the turns were given, in order (the fake API's ``prompts()``)."""
    return [call.prompt for call in runner.calls]


def say(tg: FakeTelegram, text: str, *, user: int = USER) -> ChatMessage:
    """``user`` writes ``text`` in their private chat with the bot."""
    return tg.send_user_message(user, user, text)


async def answer(
    tg: FakeTelegram,
    contains: str,
    *,
    after: ChatMessage | int = 0,
    chat: int = USER,
    done: bool = True,
    timeout_s: float = WAIT_S,
) -> ChatMessage:
    """The bot's first message after ``after`` showing ``contains``; with ``done``, once
    it is final (its Stop button gone)."""
    after_id = after.message_id if isinstance(after, ChatMessage) else after

    def final(message: ChatMessage) -> bool:
        return not done or not any("Stop" in b.text for row in message.buttons for b in row)

    return await tg.wait_for_message(
        chat, contains=contains, after=after_id, match=final, timeout=timeout_s
    )


def bot_texts(tg: FakeTelegram, chat: int = USER) -> list[str]:
    return [m.body for m in tg.sent_messages(chat) if not m.deleted]
