"""Time as storage keeps it: UTC instants stored as integer epoch milliseconds.

Integers sort, compare and sum exactly in SQL, and survive any locale; the stores turn
them back into timezone-aware ``datetime`` values. The clock is injected so tests can
move time (expiry, "cost today") without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

Clock = Callable[[], datetime]
"""Returns the current time; must be timezone-aware."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime; naive ones are refused, not guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no timezone; use an aware one")
    return (moment - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MS
