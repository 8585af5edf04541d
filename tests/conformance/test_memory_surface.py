"""The surface suite against the in-memory surface, and against broken ones.

The in-memory surface must pass every check (the contract can be met); each broken
variant must fail the check aimed at it and only that one (the suite bites, and
precisely).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from chat_adapters.choices import ChoiceAnswer, ChoicePrompt
from chat_adapters.surface import Capabilities, MessageRef, StopCallback
from tests.conformance import surface_suite
from tests.conformance.surface_suite import (
    CHECK_NAMES,
    SeenMessage,
    SurfaceHarness,
    check_surface,
    run_check,
)
from tests.fakes.memory_surface import TELEGRAM_LIKE, MemoryLiveReply, MemorySurface


class MemoryHarness:
    """The person's side of a MemorySurface."""

    def __init__(self, surface: MemorySurface) -> None:
        self._surface = surface

    @property
    def surface(self) -> MemorySurface:
        return self._surface

    @property
    def live_is_message(self) -> bool:
        return True

    async def seen(self) -> list[SeenMessage]:
        return [
            SeenMessage(m.message_id, m.display, m.buttons, m.file_name, m.file_data)
            for m in self._surface.messages
        ]

    async def click(self, label: str) -> None:
        self._surface.choose(label)

    async def reply(self, text: str) -> None:
        self._surface.reply(text)

    async def press_stop(self) -> bool:
        return await self._surface.press_stop()


def factory_for(
    make: Callable[[], MemorySurface],
) -> Callable[[], AbstractAsyncContextManager[SurfaceHarness]]:
    @asynccontextmanager
    async def factory() -> AsyncIterator[SurfaceHarness]:
        yield MemoryHarness(make())

    return factory


DISCORD_LIKE = Capabilities(
    max_message_length=2000,
    length_unit="characters",
    can_edit=True,
    min_edit_interval_s=1.0,
    button_data_limit_bytes=100,
    max_buttons_per_row=5,
    has_threads=True,
    supports_files=True,
    max_file_bytes=1 << 20,
)
PLAIN = Capabilities(max_message_length=300)  # every default: no edits, buttons or files

SURFACES: dict[str, Callable[[], MemorySurface]] = {
    "telegram-like": MemorySurface,
    "discord-like": lambda: MemorySurface(DISCORD_LIKE),
    "plain-text": lambda: MemorySurface(PLAIN),
}


@pytest.mark.parametrize("kind", sorted(SURFACES))
@pytest.mark.parametrize("check", CHECK_NAMES)
async def test_memory_surface_meets_the_contract(check: str, kind: str) -> None:
    await run_check(check, factory_for(SURFACES[kind]))


# -- deliberately broken surfaces: each must be caught -----------------------------------


class TruncatingSurface(MemorySurface):
    """Sends only what fits in one message and drops the rest."""

    async def send_text(self, text: str) -> MessageRef:
        if not text.strip():
            raise ValueError("blank")
        return self._send(text[: self.capabilities.text_budget])


class TimeoutPicksFirstSurface(MemorySurface):
    """On timeout answers the first option (Allow!) instead of the timeout choice."""

    async def ask_choice(self, prompt: ChoicePrompt) -> ChoiceAnswer:
        answer = await super().ask_choice(prompt)
        if answer.timed_out:
            return ChoiceAnswer(choice_id=prompt.options[0].id, timed_out=False)
        return answer


class TwiceFinalizingLiveReply(MemoryLiveReply):
    async def finalize(self, text: str, status: Sequence[str] = ()) -> MessageRef:
        if self.finalized:
            return self.surface._send(text, status)
        return await super().finalize(text, status)


class TwiceFinalizingSurface(MemorySurface):
    """Lets a live reply be finalized again, which posts a duplicate message."""

    async def open_live_reply(self, *, on_stop: StopCallback | None = None) -> MemoryLiveReply:
        live = TwiceFinalizingLiveReply(self, on_stop)
        self.live_replies.append(live)
        return live


class StickyStopLiveReply(MemoryLiveReply):
    @property
    def stop_visible(self) -> bool:
        return self.message is not None and self.on_stop is not None

    async def finalize(self, text: str, status: Sequence[str] = ()) -> MessageRef:
        ref = await super().finalize(text, status)
        assert self.message is not None
        self.message.buttons = ("Stop",)
        return ref


class StickyStopSurface(MemorySurface):
    """Leaves the Stop button on the finished message."""

    async def open_live_reply(self, *, on_stop: StopCallback | None = None) -> MemoryLiveReply:
        live = StickyStopLiveReply(self, on_stop)
        self.live_replies.append(live)
        return live


BROKEN: dict[str, tuple[type[MemorySurface], set[str]]] = {
    "truncates": (
        TruncatingSurface,
        {"send_text_splits_long_text_losing_nothing"},
    ),
    "timeout allows": (TimeoutPicksFirstSurface, {"choice_times_out_to_timeout_choice"}),
    "finalizes twice": (TwiceFinalizingSurface, {"live_reply_finalizes_once"}),
    "stop outlives turn": (
        StickyStopSurface,
        {"live_reply_stop_button", "streaming_reply_delivers_everything"},
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
async def test_the_suite_catches_a_broken_surface(name: str) -> None:
    cls, expected = BROKEN[name]
    report = await check_surface(factory_for(lambda: cls(TELEGRAM_LIKE)))
    assert set(report.failed) == expected, report.failed


async def test_a_surface_that_hangs_fails_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(surface_suite, "WAIT_S", 0.2)

    class SilentSurface(MemorySurface):
        async def ask_choice(self, prompt: ChoicePrompt) -> ChoiceAnswer:
            await asyncio.Event().wait()  # never shows anything, never answers
            raise AssertionError("unreachable")

    async def check() -> None:
        await run_check("choice_returns_pressed_option", factory_for(SilentSurface))

    with pytest.raises(AssertionError, match="timed out waiting for the prompt"):
        await check()
