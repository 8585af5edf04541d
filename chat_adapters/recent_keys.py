"""A set that remembers only the most recent keys, for "seen before" answers that must
not grow for as long as the bot runs (withdrawn buttons, people already refused)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

PEOPLE_REMEMBERED = 1024
"""People already told they may not use the bot: each app tells a stranger once."""


class RecentKeys:
    def __init__(self, max_keys: int) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, got {max_keys}")
        self.max_keys = max_keys
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def add(self, key: Hashable) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    def first(self, key: Hashable) -> bool:
        """Remember ``key``; True if it was not remembered already."""
        new = key not in self._keys
        self.add(key)
        return new

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)
