"""Short human times ("5 min ago") for session lists in chats and the terminal."""

from __future__ import annotations

from datetime import UTC, datetime


def ago(moment: datetime, now: datetime | None = None) -> str:
    """How long ago ``moment`` was, in the largest unit that fits."""
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 45:
        return "just now"
    for size, unit in ((86400 * 365, "y"), (86400 * 30, "mo"), (86400, "d"), (3600, "h")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{max(1, round(seconds / 60))} min ago"
