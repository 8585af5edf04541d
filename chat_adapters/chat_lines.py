"""Each chat's line: its prompts, queued in the order they were sent, and the turn it
runs now. A line exists only while it has work; its worker plays one prompt at a time
and runs the turn's bookkeeping once the chat is free again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from chat_adapters.approval_bridge import ChatApprover
from chat_adapters.chat_input import Attachment, Sender
from chat_adapters.chat_queues import queue_full_text, queued_text
from chat_adapters.chat_services import ChatServices, chat_text
from chat_adapters.inbound import InboundLedger
from chat_adapters.inbox import Inbox, SpooledFile
from chat_adapters.surface import Surface
from session_core.events import TurnFinished
from storage import ChatKey, ChatPreferences

log = structlog.get_logger(__name__)


@dataclass
class Job:
    surface: Surface
    sender: Sender
    text: str
    attachments: Sequence[SpooledFile]
    inbound_id: str | None = None
    """The app's id for the message (its row in the inbound ledger)."""


@dataclass
class ChatLine:
    """One chat's queue of prompts and the turn it runs now."""

    queue: asyncio.Queue[Job] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    running: bool = False
    session_id: str | None = None
    approver: ChatApprover | None = None
    waiting: asyncio.Task[object] | None = None
    """The turn while it waits for a free Claude process slot (/stop cancels it)."""
    refusing: bool = False
    """The queue was full and the chat was told so; reset once it drains."""


Played = tuple[ChatPreferences, TurnFinished]


class TurnPlayer(Protocol):
    """Plays one prompt of a line, then does the bookkeeping (see ``turn_flow``)."""

    def generation(self, chat: ChatKey) -> int: ...

    async def play(self, chat: ChatKey, line: ChatLine, job: Job) -> Played | None: ...

    async def after(
        self, chat: ChatKey, sender: Sender, played: Played, *, generation: int
    ) -> None: ...

    def released(self, session_id: str) -> None: ...


class ChatLines:
    def __init__(
        self, services: ChatServices, inbound: InboundLedger, inbox: Inbox, player: TurnPlayer
    ) -> None:
        self._s = services
        self.inbound = inbound
        self.inbox = inbox
        self._player = player
        self._lines: dict[ChatKey, ChatLine] = {}
        self.closing = False

    def __contains__(self, chat: ChatKey) -> bool:
        return chat in self._lines

    def get(self, chat: ChatKey) -> ChatLine | None:
        return self._lines.get(chat)

    def settled(self) -> bool:
        """No line runs a turn, holds a prompt or has a live worker."""
        return all(
            not line.running and line.queue.empty() and (line.worker is None or line.worker.done())
            for line in self._lines.values()
        )

    async def submit(
        self,
        surface: Surface,
        chat: ChatKey,
        sender: Sender,
        text: str,
        attachments: Sequence[Attachment] = (),
        inbound_id: str | None = None,
    ) -> None:
        """Queue a prompt (recorded under ``inbound_id`` first: a redelivered one is not
        run again); acknowledge when it has to wait, refuse when the queue is full."""
        if not text.strip() and not attachments:
            return
        if self.closing:
            await surface.send_text("⏹ The bot is shutting down: send this again once it is back.")
            return
        limit = self._s.policy.max_queued
        line = self._lines.get(chat)
        if line is not None and line.queue.qsize() >= limit:
            if not line.refusing:
                line.refusing = True
                self._s.spawn(surface.send_text(queue_full_text(limit)))
            log.info("prompt_refused_queue_full", chat=chat_text(chat))
            return
        accepted = await self.inbound.accept(
            chat,
            inbound_id,
            user_id=sender.user_id,
            text=text,
            display_name=sender.display_name,
            mention=sender.mention,
            attachments=len(attachments),
        )
        if not accepted.run:
            return
        if accepted.warning:
            await surface.send_text(accepted.warning)
        # On disk before it waits: a queued prompt holds paths, not bytes.
        spooled = [
            await asyncio.to_thread(self.inbox.spool, a.kind, a.file_name, a.data, a.media_type)
            for a in attachments
        ]
        line = self._lines.setdefault(chat, ChatLine())
        line.refusing = False  # there was room again: a later overflow is told anew
        ahead = line.queue.qsize() + (1 if line.running else 0)
        line.queue.put_nowait(Job(surface, sender, text, spooled, inbound_id))
        if line.worker is None or line.worker.done():
            line.worker = asyncio.create_task(self._work(chat, line), name=f"chat:{chat}")
        if ahead:
            # Not awaited: the chat's pacing must not hold up whoever handed us this.
            self._s.spawn(surface.send_text(queued_text(ahead)))

    async def drop_queued(self, chat: ChatKey) -> int:
        """Empty the chat's queue (each prompt marked done); how many were dropped."""
        line = self._lines.get(chat)
        dropped = 0
        while line is not None and not line.queue.empty():
            await self.inbound.finish(chat, line.queue.get_nowait().inbound_id)
            dropped += 1
        return dropped

    async def finish(self, grace_s: float) -> None:
        """Shutting down: stop running turns, let their replies finalize, say what was
        not sent."""
        self.closing = True
        for chat, line in list(self._lines.items()):  # a finishing worker drops its line
            dropped: list[Job] = []
            while not line.queue.empty():
                dropped.append(line.queue.get_nowait())
            for job in dropped:  # the chat is told to send them again
                await self.inbound.finish(chat, job.inbound_id)
            if dropped:
                with contextlib.suppress(Exception):
                    await dropped[0].surface.send_text(
                        f"⏹ The bot is shutting down: {len(dropped)} queued message"
                        f"{'s were' if len(dropped) > 1 else ' was'} not sent. "
                        "Send again once it is back."
                    )
            if line.running and line.session_id:
                await self._s.runner.interrupt(line.session_id)
        workers = self.workers()
        if workers:
            await asyncio.wait(workers, timeout=grace_s)

    def workers(self) -> list[asyncio.Task[None]]:
        return [line.worker for line in self._lines.values() if line.worker]

    async def _work(self, chat: ChatKey, line: ChatLine) -> None:
        while not line.queue.empty() and not self.closing:
            job = line.queue.get_nowait()
            line.running = True
            generation = self._player.generation(chat)
            played: Played | None = None
            turn = asyncio.create_task(self._player.play(chat, line, job))
            try:
                played = await turn
            except asyncio.CancelledError:
                worker = asyncio.current_task()
                if not turn.cancelled() or (worker is not None and worker.cancelling()):
                    raise
                log.info("turn_stopped_while_waiting", chat=chat_text(chat))
            except Exception as exc:
                log.exception("turn_crashed", chat=chat_text(chat))
                with contextlib.suppress(Exception):
                    await job.surface.send_text(
                        f"❌ {self._s.redactor(str(exc)) or type(exc).__name__}"
                    )
            finally:
                line.running = False
                line.waiting = None
                if line.session_id:
                    self._player.released(line.session_id)
                line.session_id = None
                line.approver = None
            await self.inbound.finish(chat, job.inbound_id)  # any outcome but a cancel
            if played is not None:
                # Bookkeeping runs after the chat is free: a message arriving now is
                # next in line, not "queued behind" a turn that already answered.
                try:
                    await self._player.after(chat, job.sender, played, generation=generation)
                except Exception:
                    log.exception("after_turn_failed", chat=chat_text(chat))
        if line.queue.empty() and self._lines.get(chat) is line:
            del self._lines[chat]  # an idle chat keeps nothing here
