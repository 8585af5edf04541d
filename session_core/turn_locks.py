"""One turn at a time per session, first come first served, across every door.

A Claude session is one conversation: two prompts sent to it at once would fork its
transcript. So each session id has a line of tickets; turns on different sessions run
in parallel. Taking a ticket is synchronous, so a caller can fix its place in line
before it awaits anything (the runner does, while still holding its dispatch order).
Adapters ask ``busy`` to acknowledge a queued message.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Ticket:
    """A place in one session's line. ``wait`` until it is your turn, then ``release``."""

    __slots__ = ("_future", "_locks", "session_id")

    def __init__(self, locks: SessionLocks, session_id: str) -> None:
        self._locks = locks
        self.session_id = session_id
        self._future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def holding(self) -> bool:
        return self._future.done() and not self._future.cancelled()

    async def wait(self) -> None:
        """Until every ticket ahead has been released; cancelling leaves the line."""
        try:
            await asyncio.shield(self._future)
        except asyncio.CancelledError:
            self.release()
            raise

    def release(self) -> None:
        """Leave the line (done, or given up); the next ticket gets its turn. Idempotent."""
        self._locks._leave(self)

    def _grant(self) -> None:
        if not self._future.done():
            self._future.set_result(None)


class SessionLocks:
    """FIFO lines keyed by session id, created on demand and dropped when empty."""

    def __init__(self) -> None:
        self._lines: dict[str, deque[Ticket]] = {}

    def busy(self, session_id: str) -> bool:
        """A turn is running on this session now."""
        line = self._lines.get(session_id)
        return line is not None and bool(line) and line[0].holding

    def take_ticket(self, session_id: str) -> Ticket:
        """Join the end of the session's line now (no await, so the order is the call order)."""
        ticket = Ticket(self, session_id)
        line = self._lines.setdefault(session_id, deque())
        line.append(ticket)
        if len(line) == 1:
            ticket._grant()
        return ticket

    def _leave(self, ticket: Ticket) -> None:
        line = self._lines.get(ticket.session_id)
        if line is None or ticket not in line:
            return
        was_head = line[0] is ticket
        line.remove(ticket)
        if not line:
            del self._lines[ticket.session_id]
        elif was_head:
            line[0]._grant()
