"""The behaviour every Surface owes, checked once for every app.

A check drives a surface from the bot's side and looks at the chat from the person's
side through a *harness*: the in-memory surface reads its own records, the Telegram and
Discord adapters read what their fake servers received. So the same assertions hold
the in-memory surface and both apps to one contract, and a deliberately broken surface
fails it (see ``test_memory_surface.py``): the suite can fail.

Use it from a test module with a factory that yields a fresh harness per check::

    @pytest.mark.parametrize("check", CHECK_NAMES)
    async def test_contract(check: str) -> None:
        await run_check(check, my_harness_factory)

Texts here are plain words with numbered tokens (``w0001``, ``c0001``), so they read
the same before and after an app renders Markdown; order and completeness are checked
on those tokens.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import dataclass, field
from typing import Protocol

from chat_adapters.choices import Choice, ChoiceAnswer, ChoicePrompt
from chat_adapters.interactions import WITHDRAWN_NOTE, answer_note
from chat_adapters.streaming import StreamingReply
from chat_adapters.surface import Surface, Unsupported
from session_core.events import TextDelta, ToolFinished, ToolStarted, TurnFinished, TurnStarted
from tests.fakes.memory_surface import VirtualClock

WAIT_S = 10.0
"""Bound on every wait for something to show up in the chat."""


@dataclass(frozen=True, slots=True)
class SeenMessage:
    """One message as the person sees it now."""

    message_id: str
    text: str
    """Rendered text, status lines included, as the app shows it."""
    buttons: tuple[str, ...] = ()
    file_name: str | None = None
    file_data: bytes | None = None


class SurfaceHarness(Protocol):
    """The person's side of one chat, plus the surface the bot uses to reach it."""

    @property
    def surface(self) -> Surface: ...

    @property
    def live_is_message(self) -> bool:
        """A live reply shows as a message while it runs (a draft does not)."""
        ...

    async def seen(self) -> list[SeenMessage]:
        """Every message in the chat now, oldest first (bot messages only)."""
        ...

    async def click(self, label: str) -> None:
        """Press the newest button with this label."""
        ...

    async def reply(self, text: str) -> None:
        """Type a message into the chat."""
        ...

    async def press_stop(self) -> bool:
        """Press the Stop button of the newest message that has one; False if none."""
        ...


HarnessFactory = Callable[[], AbstractAsyncContextManager[SurfaceHarness]]
Check = Callable[[SurfaceHarness], Awaitable[None]]


@dataclass
class SuiteReport:
    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


async def run_check(name: str, factory: HarnessFactory) -> None:
    """Run one check on a fresh harness; raises AssertionError when it fails."""
    async with asyncio.timeout(120), factory() as harness:
        await CHECKS[name](harness)


async def check_surface(factory: HarnessFactory) -> SuiteReport:
    """Run every check; an unexpected exception counts as a failure too."""
    report = SuiteReport()
    for name in CHECKS:
        try:
            await run_check(name, factory)
        except Exception as exc:
            report.failed[name] = f"{type(exc).__name__}: {exc}"
        else:
            report.passed.append(name)
    return report


# -- helpers --------------------------------------------------------------------------

_TOKEN = re.compile(r"\b[wc]\d{4}\b")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def words(start: int, count: int) -> list[str]:
    return [f"w{i:04d}" for i in range(start, start + count)]


def long_markdown(limit: int) -> str:
    """About three messages of prose with a code block that straddles a split."""
    prose = " ".join(words(0, max(40, limit // 12)))
    code = "".join(f"c{i:04d} = {i}\n" for i in range(max(30, limit // 10)))
    tail = " ".join(words(5000, max(40, limit // 12)))
    return f"{prose}\n\n```python\n{code}```\n\n{tail}"


async def wait_for(
    harness: SurfaceHarness, predicate: Callable[[list[SeenMessage]], bool], what: str
) -> list[SeenMessage]:
    try:
        async with asyncio.timeout(WAIT_S):
            while True:
                seen = await harness.seen()
                if predicate(seen):
                    return seen
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def assert_fits(harness: SurfaceHarness, seen: list[SeenMessage]) -> None:
    caps = harness.surface.capabilities
    for message in seen:
        size = caps.measure(message.text)
        assert size <= caps.max_message_length, (
            f"message {message.message_id} is {size} long, over {caps.max_message_length}"
        )


def all_tokens(seen: list[SeenMessage]) -> list[str]:
    return [token for message in seen for token in tokens(message.text)]


def sample_prompt(
    *, timeout_s: float = 30.0, free_text: bool = False, body: str = ""
) -> ChoicePrompt:
    return ChoicePrompt(
        title="Run the tests?",
        body=body or "It will take a minute.",
        options=(
            Choice("run", "Run them", "primary"),
            Choice("later", "Later", "secondary"),
            Choice("never", "Never", "danger"),
        ),
        timeout_choice="never",
        timeout_s=timeout_s,
        allows_free_text=free_text,
    )


async def answer_when_shown(
    harness: SurfaceHarness, prompt: ChoicePrompt, act: Callable[[], Awaitable[None]]
) -> ChoiceAnswer:
    task = asyncio.create_task(harness.surface.ask_choice(prompt))
    try:
        await wait_for(
            harness,
            lambda seen: (
                any(prompt.title in m.text for m in seen)
                and (not harness.surface.capabilities.has_buttons or any(m.buttons for m in seen))
            ),
            "the prompt to show",
        )
        await act()
        async with asyncio.timeout(WAIT_S):
            return await task
    finally:
        task.cancel()


# -- checks ---------------------------------------------------------------------------


async def capabilities_are_sane(h: SurfaceHarness) -> None:
    caps = h.surface.capabilities
    assert h.surface.surface_id, "surface_id must name the chat"
    assert caps.text_budget > 0 and caps.status_budget > 0
    assert caps.text_budget + caps.status_budget + 2 <= caps.max_message_length
    assert caps.min_edit_interval_s >= 0


async def send_text_arrives(h: SurfaceHarness) -> None:
    ref = await h.surface.send_text("hello w0001 w0002")
    assert ref.message_id, "send_text must return the message it sent"
    seen = await h.seen()
    assert [m.message_id for m in seen] == [ref.message_id]
    assert tokens(seen[0].text) == ["w0001", "w0002"]
    assert "hello" in seen[0].text


async def send_text_splits_long_text_losing_nothing(h: SurfaceHarness) -> None:
    text = long_markdown(h.surface.capabilities.max_message_length)
    ref = await h.surface.send_text(text)
    seen = await h.seen()
    assert len(seen) >= 2, "text three times the limit must take several messages"
    assert seen[0].message_id == ref.message_id, "send_text returns the first message"
    assert_fits(h, seen)
    assert all_tokens(seen) == tokens(text), "text was lost, repeated or reordered"


async def send_text_refuses_blank(h: SurfaceHarness) -> None:
    for blank in ("", "  \n\t "):
        try:
            await h.surface.send_text(blank)
        except ValueError:
            pass
        else:
            raise AssertionError(f"send_text({blank!r}) must raise ValueError")
    assert await h.seen() == [], "a refused send must send nothing"


async def live_reply_shows_updates_and_final_text(h: SurfaceHarness) -> None:
    live = await h.surface.open_live_reply()
    assert await h.seen() == [], "opening a live reply sends nothing yet"
    await live.update("w0001 w0002", ("▸ Bash",))
    caps = h.surface.capabilities
    if caps.can_edit and h.live_is_message:
        seen = await h.seen()
        assert len(seen) == 1 and tokens(seen[0].text) == ["w0001", "w0002"]
        assert "Bash" in seen[0].text, "status lines are shown"
    await live.update("w0001 w0002 w0003")
    ref = await live.finalize("w0001 w0002 w0003 w0004", ("⏹ Interrupted",))
    seen = await h.seen()
    assert len(seen) == 1, "one live reply is one message"
    assert seen[0].message_id == ref.message_id
    assert tokens(seen[0].text) == ["w0001", "w0002", "w0003", "w0004"]
    assert "Interrupted" in seen[0].text


async def live_reply_finalizes_once(h: SurfaceHarness) -> None:
    live = await h.surface.open_live_reply()
    await live.finalize("w0001")
    for call in (lambda: live.finalize("w0002"), lambda: live.update("w0003")):
        try:
            await call()
        except RuntimeError:
            pass
        else:
            raise AssertionError("a finalized live reply must refuse finalize and update")
    seen = await h.seen()
    assert all_tokens(seen) == ["w0001"], "nothing may change after finalize"
    blank = await h.surface.open_live_reply()
    try:
        await blank.finalize("  ")
    except ValueError:
        pass
    else:
        raise AssertionError("finalize with no text and no status must raise ValueError")


async def live_reply_respects_length_limit(h: SurfaceHarness) -> None:
    caps = h.surface.capabilities
    text = " ".join(words(0, caps.text_budget // 6))
    assert caps.measure(text) <= caps.text_budget
    status = tuple(f"▸ tool {i:03d}" for i in range(caps.status_budget // 12))
    assert caps.measure("\n".join(status)) <= caps.status_budget
    live = await h.surface.open_live_reply()
    await live.update(text, status)
    assert_fits(h, await h.seen())
    await live.finalize(text, status[:1])
    seen = await h.seen()
    assert_fits(h, seen)
    assert all_tokens(seen) == tokens(text)


async def live_reply_stop_button(h: SurfaceHarness) -> None:
    presses: list[int] = []
    pressed_event = asyncio.Event()

    async def on_stop() -> None:
        presses.append(1)
        pressed_event.set()

    live = await h.surface.open_live_reply(on_stop=on_stop)
    await live.update("w0001")
    expect_button = h.surface.capabilities.has_buttons and h.surface.capabilities.can_edit
    pressed = await h.press_stop()
    assert pressed == expect_button, f"Stop button shown: {pressed}, expected {expect_button}"
    if expect_button:
        async with asyncio.timeout(WAIT_S):
            await pressed_event.wait()
        assert presses == [1]
    await live.finalize("w0001 w0002")
    assert not await h.press_stop(), "finalize must remove the Stop button"
    assert len(presses) <= 1


async def choice_returns_pressed_option(h: SurfaceHarness) -> None:
    prompt = sample_prompt()
    answer = await answer_when_shown(h, prompt, lambda: h.click("Later"))
    assert answer == prompt.answer("later"), f"pressed Later, got {answer}"
    seen = await h.seen()
    assert not any(m.buttons for m in seen), "buttons must go once answered"
    assert any("Later" in m.text for m in seen), "the chat shows what was chosen"


async def choice_times_out_to_timeout_choice(h: SurfaceHarness) -> None:
    prompt = sample_prompt(timeout_s=0.3)
    async with asyncio.timeout(WAIT_S):
        answer = await h.surface.ask_choice(prompt)
    assert answer == prompt.timeout_answer(), f"timeout must answer 'never', got {answer}"
    seen = await h.seen()
    assert not any(m.buttons for m in seen), "buttons must go when time runs out"
    assert any("Never" in m.text for m in seen), "the chat shows the timeout answer"


async def choice_takes_free_text(h: SurfaceHarness) -> None:
    prompt = sample_prompt(free_text=True)
    answer = await answer_when_shown(h, prompt, lambda: h.reply("tomorrow at nine"))
    assert answer == ChoiceAnswer(text="tomorrow at nine"), f"got {answer}"
    seen = await wait_for(
        h, lambda seen: not any(m.buttons for m in seen), "the buttons to go once answered"
    )
    note = answer_note(prompt, answer)
    assert any(note in m.text for m in seen), f"the chat shows the answer ({note!r})"


async def choice_withdrawn_says_so(h: SurfaceHarness) -> None:
    """A prompt whose asker gave up (a cancelled turn) loses its buttons and says that
    nobody waits for an answer, in the words every app shares."""
    prompt = sample_prompt()
    task = asyncio.create_task(h.surface.ask_choice(prompt))
    await wait_for(h, lambda seen: any(prompt.title in m.text for m in seen), "the prompt")
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
    seen = await wait_for(
        h,
        lambda seen: any(WITHDRAWN_NOTE in m.text for m in seen),
        "the prompt to say it was withdrawn",
    )
    assert not any(m.buttons for m in seen), "a withdrawn prompt keeps no buttons"


async def choice_with_long_body_fits(h: SurfaceHarness) -> None:
    body = long_markdown(h.surface.capabilities.max_message_length)
    prompt = sample_prompt(body=body)
    answer = await answer_when_shown(h, prompt, lambda: h.click("Run them"))
    assert answer == prompt.answer("run")
    seen = await h.seen()
    assert_fits(h, seen)
    assert all_tokens(seen) == tokens(body), "the prompt body was cut"


async def file_delivery(h: SurfaceHarness) -> None:
    caps = h.surface.capabilities
    data = bytes(range(256)) * 4
    if not caps.supports_files:
        try:
            await h.surface.deliver_file("out.bin", data)
        except Unsupported:
            return
        raise AssertionError("deliver_file without file support must raise Unsupported")
    for bad in ("../etc/passwd", "a/b.txt", ""):
        try:
            await h.surface.deliver_file(bad, data)
        except ValueError:
            pass
        else:
            raise AssertionError(f"deliver_file must refuse the name {bad!r}")
    await h.surface.deliver_file("out.bin", data, "w0001")
    seen = await h.seen()
    files = [m for m in seen if m.file_name is not None]
    assert [(m.file_name, m.file_data) for m in files] == [("out.bin", data)]


async def streaming_reply_delivers_everything(h: SurfaceHarness) -> None:
    caps = h.surface.capabilities
    clock = VirtualClock()
    answer = long_markdown(caps.max_message_length)
    stops: list[int] = []

    async def on_stop() -> None:
        stops.append(1)

    reply = StreamingReply(h.surface, verbosity=1, on_stop=on_stop, clock=clock, sleep=clock.sleep)
    await reply.handle(TurnStarted(session_id="s1", working_directory="/w", resumed=False))
    await reply.handle(ToolStarted(tool_use_id="t1", name="Bash", input={"command": "ls"}))
    await reply.handle(ToolFinished(tool_use_id="t1", name="Bash", is_error=False, output="x"))
    for start in range(0, len(answer), 37):
        await reply.handle(TextDelta(answer[start : start + 37]))
        await clock.advance(0.05)
    await clock.run(reply.handle(TurnFinished(outcome="success", session_id="s1")))
    seen = await h.seen()
    assert_fits(h, seen)
    assert all_tokens(seen) == tokens(answer), "streamed text was lost, repeated or reordered"
    assert reply.stats.delivered_ratio == 1.0, reply.stats
    assert not await h.press_stop(), "no Stop button may outlive the turn"


CHECKS: dict[str, Check] = {
    check.__name__: check
    for check in (
        capabilities_are_sane,
        send_text_arrives,
        send_text_splits_long_text_losing_nothing,
        send_text_refuses_blank,
        live_reply_shows_updates_and_final_text,
        live_reply_finalizes_once,
        live_reply_respects_length_limit,
        live_reply_stop_button,
        choice_returns_pressed_option,
        choice_times_out_to_timeout_choice,
        choice_withdrawn_says_so,
        choice_takes_free_text,
        choice_with_long_body_fits,
        file_delivery,
        streaming_reply_delivers_everything,
    )
}
CHECK_NAMES = tuple(CHECKS)
