"""One turn at a time per session, first come first served, across every door.

A Claude session is one conversation: two prompts sent to it at once would fork its
transcript. So each session id gets a FIFO lock; turns on different sessions run in
parallel. Adapters ask ``busy``/``waiting`` to acknowledge a queued message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # holders + waiters; the slot is dropped at zero


class SessionLocks:
    """FIFO locks keyed by session id, created on demand and dropped when unused."""

    def __init__(self) -> None:
        self._slots: dict[str, _Slot] = {}

    def busy(self, session_id: str) -> bool:
        """A turn is running on this session now."""
        slot = self._slots.get(session_id)
        return slot is not None and slot.lock.locked()

    def waiting(self, session_id: str) -> int:
        """How many turns wait behind the running one."""
        slot = self._slots.get(session_id)
        if slot is None:
            return 0
        return max(0, slot.users - (1 if slot.lock.locked() else 0))

    @asynccontextmanager
    async def hold(self, session_id: str) -> AsyncIterator[None]:
        """Wait in line for the session, then hold it for the body.

        asyncio.Lock wakes waiters in arrival order and a cancelled waiter leaves the
        line without taking a turn, so cancellation never wedges a session.
        """
        slot = self._slots.get(session_id)
        if slot is None:
            slot = self._slots[session_id] = _Slot()
        slot.users += 1
        try:
            async with slot.lock:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0 and self._slots.get(session_id) is slot:
                del self._slots[session_id]
