"""Turn events become one chat message kept current, then the final answer.

A :class:`StreamingReply` listens to one turn (``TurnStarted`` … ``TurnFinished``) and
keeps a single live message on a :class:`~chat_adapters.surface.Surface` showing the
newest text plus tool lines. Deltas are coalesced: all surface calls run in one
background pump that waits ``min_edit_interval_s`` between operations, and each call
carries the whole content so far, so however fast the model writes there is at most
one edit per interval and nothing to lose between edits.

When the text outgrows a message, the part that fits is finalized (split at a
paragraph, line or word, code fences closed and reopened) and the rest continues in a
new live message. At the end the live message is finalized exactly once with the
answer and, unless the turn succeeded, a line saying how it ended.

It counts the bytes of model text it received and the bytes it handed to the surface
in finalized messages: ``stats.delivered_ratio`` must be 1.0.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from typing import Any

import structlog

from chat_adapters.background import BackgroundTasks
from chat_adapters.redaction import Redactor
from chat_adapters.reply_lines import (
    DONE_LINE,
    VERBOSITY_LEVELS,
    DeliveryStats,
    outcome_line,
    tool_line,
    waiting_text,
)
from chat_adapters.surface import LiveReply, StopCallback, Surface, fit_status, truncate_to
from chat_adapters.text_split import Chunk, split_markdown_chunks
from session_core.events import (
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnEvent,
    TurnFinished,
    TurnStarted,
    WaitingForSlot,
)

log = structlog.get_logger(__name__)


class StreamingReply:
    """One turn's reply on one surface; see the module doc.

    Feed it with :meth:`handle` (fits the runner's ``on_stream`` callback) or
    :meth:`consume`. ``handle`` returns at once for everything but ``TurnFinished``,
    which returns when the final message is delivered.
    """

    def __init__(
        self,
        surface: Surface,
        *,
        verbosity: int = 1,
        on_stop: StopCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        redactor: Redactor | None = None,
        background: BackgroundTasks | None = None,
    ) -> None:
        if verbosity not in VERBOSITY_LEVELS:
            raise ValueError(f"verbosity must be one of {VERBOSITY_LEVELS}, got {verbosity!r}")
        self.surface = surface
        self.stats = DeliveryStats()
        self._caps = surface.capabilities
        self._measure = self._caps.measure
        self._budget = self._caps.text_budget
        self._verbosity = verbosity
        self._on_stop = on_stop
        self._clock = clock
        self._sleep = sleep
        self._redactor = redactor or Redactor()
        self._background = background if background is not None else BackgroundTasks()
        """Owns the finishing of a reply whose caller was cancelled."""
        # All model text of the turn, plus the blank lines put between text blocks that
        # a tool call separated (kept in ``_inserted`` so they are not counted).
        self._text = ""
        self._inserted: list[tuple[int, int]] = []
        self._saw_text = False
        self._after_tool = False
        # The unfinalized rest: text[_seg_start:], led by a reopened code fence if the
        # previous message had to close one.
        self._seg_start = 0
        self._seg_prefix = ""
        self._tool_lines: list[str] = []
        self._tool_at: dict[str, int] = {}
        self._tool_inputs: dict[str, Mapping[str, Any]] = {}
        self._tools_sent = 0
        self._live: LiveReply | None = None
        self._shown: tuple[str, tuple[str, ...]] | None = None
        self._next_op_at = -math.inf
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._finished: TurnFinished | None = None
        self._session_id = ""

    @property
    def finished(self) -> bool:
        return self._finished is not None

    async def handle(self, event: TurnEvent) -> None:
        if self._finished is not None:
            if isinstance(event, TurnFinished):
                log.warning("turn_finished_twice", session_id=event.session_id)
            return
        if isinstance(event, WaitingForSlot):
            await self.surface.send_text(waiting_text(event))
        elif isinstance(event, TurnStarted):
            self._session_id = event.session_id
        elif isinstance(event, TextDelta):
            if event.text:
                self._add_text(event.text)
                self._kick()
        elif isinstance(event, ToolStarted):
            self._after_tool = True
            self._tool_inputs[event.tool_use_id] = event.input
            # A line that can never be edited to "done" is noise: without edits, a
            # tool shows up once, when it finished.
            if self._verbosity and self._caps.can_edit:
                self._tool_at[event.tool_use_id] = len(self._tool_lines)
                self._tool_lines.append(
                    tool_line(event.name, event.input, self._verbosity, redactor=self._redactor)
                )
                self._kick()
        elif isinstance(event, ToolFinished):
            self._after_tool = True
            if self._verbosity:
                line = tool_line(
                    event.name,
                    self._tool_inputs.get(event.tool_use_id, {}),
                    self._verbosity,
                    state="error" if event.is_error else "ok",
                    output=event.output,
                    redactor=self._redactor,
                )
                at = self._tool_at.get(event.tool_use_id)
                if at is not None and at >= self._tools_sent:
                    self._tool_lines[at] = line
                else:
                    self._tool_lines.append(line)
                self._kick()
        elif isinstance(event, TurnFinished):
            await self._finish(event)

    async def consume(self, events: AsyncIterable[TurnEvent]) -> TurnFinished:
        """Feed a whole turn. A stream that breaks or ends without ``TurnFinished``
        still gets its reply finalized, with the reason."""
        try:
            async for event in events:
                await self.handle(event)
        except asyncio.CancelledError:
            self._finish_in_background("the reply was cancelled")
            raise
        except Exception as exc:
            await self._finish_with_error(f"{type(exc).__name__}: {exc}")
            raise
        if self._finished is None:
            await self._finish_with_error("the turn ended without a result")
        assert self._finished is not None
        return self._finished

    # -- state ----------------------------------------------------------------------

    def _add_text(self, delta: str) -> None:
        if self._after_tool and self._text and not self._text.endswith("\n\n"):
            separator = "\n" if self._text.endswith("\n") else "\n\n"
            self._inserted.append((len(self._text), len(self._text) + len(separator)))
            self._text += separator
        self._after_tool = False
        self._saw_text = True
        self._text += delta
        self.stats.produced_bytes += _utf8_size(delta)

    def _model_bytes(self, start: int, end: int) -> int:
        size = _utf8_size(self._text[start:end])
        for a, b in self._inserted:
            size -= max(0, min(b, end) - max(a, start))
        return size

    def _display(self) -> str:
        return self._seg_prefix + self._text[self._seg_start :]

    def _status(self) -> tuple[str, ...]:
        return fit_status(self._tool_lines, self._caps) if self._verbosity else ()

    def _kick(self) -> None:
        self._wake.set()
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def _finish(self, finished: TurnFinished) -> None:
        self._finished = finished
        if not self._saw_text and finished.result_text:
            self._add_text(finished.result_text)
        self._kick()
        assert self._pump is not None
        await self._pump

    async def _finish_with_error(self, reason: str) -> None:
        if self._finished is None:
            await self._finish(
                TurnFinished(outcome="error", session_id=self._session_id, error=reason)
            )

    def _finish_in_background(self, reason: str) -> None:
        if self._finished is None:
            self._background.spawn(
                self._finish_with_error(reason), name=f"{self.surface.surface_id}-finish"
            )

    # -- the pump: the only place that calls the surface --------------------------------

    async def _run_pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._finished is None:
                await self._pace()
            if self._finished is not None:
                await self._deliver_final(self._finished)
                return
            await self._roll_over()
            if self._caps.can_edit:
                await self._update_live()
            else:
                await self._send_tool_lines()

    async def _pace(self) -> None:
        delay = self._next_op_at - self._clock()
        if delay > 0:
            await self._sleep(delay)

    async def _call(self, what: str, call: Callable[[], Awaitable[Any]]) -> bool:
        await self._pace()
        started = self._clock()
        try:
            await call()
            return True
        except Exception as exc:
            self.stats.failures += 1
            log.error(
                "reply_delivery_failed",
                call=what,
                surface=self.surface.surface_id,
                session_id=self._session_id,
                error=repr(exc),
            )
            return False
        finally:
            self._next_op_at = started + self._caps.min_edit_interval_s

    async def _open_live(self) -> LiveReply:
        if self._live is None:
            on_stop = self._on_stop if self._finished is None else None
            self._live = await self.surface.open_live_reply(on_stop=on_stop)
            self._shown = None
        return self._live

    async def _update_live(self) -> None:
        display, status = self._display(), self._status()
        if not (display.strip() or status) or (display, status) == self._shown:
            return
        if not (status or self._redactor.settled(display).strip()):
            # Only an unfinished word so far, which the chat holds back (it may be the
            # start of a secret): an update would show nothing yet cost a pacing slot,
            # and a short answer would then wait a whole interval for its final edit.
            return

        async def update() -> None:
            live = await self._open_live()
            await live.update(display, status)

        if await self._call("update", update):
            self._shown = (display, status)
            self.stats.updates += 1

    async def _finalize(self, text: str, status: tuple[str, ...], model: tuple[int, int]) -> None:
        async def finalize() -> None:
            live = await self._open_live()
            self._live = None  # finalized or broken: either way, never used again
            await live.finalize(text, status)

        if await self._call("finalize", finalize):
            self.stats.messages += 1
            self.stats.delivered_bytes += self._model_bytes(*model)

    async def _roll_over(self) -> None:
        """Finalize full messages while the rest is longer than one message."""
        while self._measure(display := self._display()) > self._budget:
            prefix = len(self._seg_prefix)
            first, second = self._split(display, prefix)
            if first.end <= prefix:  # cannot happen with sane limits; never loop forever
                self._seg_prefix = ""
                continue
            model = (self._seg_start, self._seg_start + first.end - prefix)
            await self._finalize(first.text, (), model)
            self._seg_start, self._seg_prefix = model[1], second.prefix

    def _split(self, display: str, prefix: int) -> tuple[Chunk, Chunk]:
        """The first full message and the rest, never cutting a secret in two (each half
        would pass the redactor); a message only shrinks for it, down to half."""
        budget = self._budget
        while True:
            first, second = split_markdown_chunks(display, budget, self._measure)[:2]
            start = self._redactor.straddling(display, first.end)
            if start is None or start <= prefix or budget <= self._budget // 2:
                return first, second
            budget = max(self._budget // 2, budget - self._measure(display[start : first.end]))

    async def _send_tool_lines(self) -> None:
        """Surfaces that cannot edit get tool lines in batches, as their own messages:
        one message per paced call, the rest on the next."""
        lines = self._tool_lines[self._tools_sent :] if self._verbosity else []
        if not lines:
            return
        room = self._budget - self._measure(_code_block(""))
        batch = [truncate_to(lines[0], room, self._measure)]
        for line in lines[1:]:
            if self._measure("\n".join([*batch, line])) > room:
                break
            batch.append(line)
        self._tools_sent += len(batch)
        if self._tools_sent < len(self._tool_lines):
            self._wake.set()
        text = _code_block("\n".join(batch))
        if await self._call("send_text", lambda: self.surface.send_text(text)):
            self.stats.messages += 1

    async def _deliver_final(self, finished: TurnFinished) -> None:
        while (
            self._verbosity and not self._caps.can_edit and self._tools_sent < len(self._tool_lines)
        ):
            await self._send_tool_lines()
        await self._roll_over()
        line = outcome_line(finished)
        status = (truncate_to(line, self._caps.status_budget, self._measure),) if line else ()
        display = self._display()
        rest = (self._seg_start, len(self._text))
        if display[len(self._seg_prefix) :].strip():
            await self._finalize(display, status, rest)
            return
        # Only whitespace is left: invisible in any chat, so it counts as delivered.
        self.stats.delivered_bytes += self._model_bytes(*rest)
        if status or self._live is not None or self.stats.messages == 0:
            await self._finalize("", status or (DONE_LINE,), (0, 0))


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _code_block(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"
