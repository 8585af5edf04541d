"""When a finished turn must arrive as a new message rather than an edit.

An edit never notifies: a person who put the phone away during a long turn would not
learn it is done. So a turn that ran longer than ``BATON_NOTIFY_AFTER_S`` ends with a
new message (a reply to the prompt on Telegram, a mention of the asker on Discord).
Short turns keep the quiet edit: the person is watching.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class TurnClock:
    """Started when a live reply opens; asked once, when it is finalized."""

    notify_after_s: float | None
    """None: never (a surface built without the setting, as in unit tests)."""
    started: float = field(default_factory=time.monotonic)

    def took_long(self, now: float | None = None) -> bool:
        if self.notify_after_s is None:
            return False
        elapsed = (time.monotonic() if now is None else now) - self.started
        return elapsed > self.notify_after_s
