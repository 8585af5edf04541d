"""A structlog logger that imports structlog on its first call, not at import time.

structlog pulls in asyncio and (when installed) rich: a tenth of a second that a
one-shot ``baton sessions`` which logs nothing should not pay. A process that logs
first runs the hook set with :func:`before_first_log`, so the composition root can
configure structlog (stderr, redaction) only when it is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_hooks: list[Callable[[], None]] = []


def before_first_log(hook: Callable[[], None]) -> None:
    """Run ``hook`` once, just before the first lazy logger imports structlog."""
    _hooks.append(hook)


class LazyLogger:
    """Stands in for ``structlog.get_logger(name)``; every attribute is the real one's."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attribute: str) -> Any:
        if self._logger is None:
            while _hooks:
                _hooks.pop(0)()
            import structlog

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, attribute)
