"""What a button press means: short opaque keys on the buttons, the meaning kept here.

Telegram gives a button 64 bytes of ``callback_data``; a session id alone is 36, and
data a model wrote could be anything. So a button carries a random key (plus a small
index for which option of a prompt), and this registry maps the key to what a press
does, for this process. Choice prompts are also recorded in the database
(``storage.pending``) for as long as they wait: a press that arrives after a restart
finds no handler here but finds its record there, and is told plainly that the
question expired instead of a silent spinner.

Keys are bound to the chat that showed them: the same key pressed in another chat does
nothing. A ``gate`` (:class:`~chat_adapters.press_gate.PressGate`) sees every press of a
live button first, with what it is, and may refuse it to the presser (and audits it).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from storage.pending import PendingChoices

log = structlog.get_logger(__name__)

APP = "telegram"
KEY_SEPARATOR = ":"
EXPIRED = "This button has expired."
EXPIRED_AFTER_RESTART = "This question expired: the bot restarted after asking it."
WITHDRAWN = "This question is no longer waiting for an answer."


@dataclass(frozen=True, slots=True)
class PressReply:
    """How to answer a press: the short notice the presser sees, and whether the
    keyboard it came from is dead and should be taken off its message."""

    text: str
    remove_keyboard: bool = False
    show_alert: bool = False


ButtonGate = Callable[[int, int, str, str], str | None]
"""Called with chat id, presser id, what kind of button ("approval", "question", "plan",
"other", "stop") and its label; None lets the press through, a text refuses it."""

PressHandler = Callable[[str, int], Awaitable[PressReply]]
"""Called with the part of the data after the key (an option index, or "") and the
presser's user id."""


@dataclass(frozen=True, slots=True)
class _Route:
    chat_id: int
    handler: PressHandler
    persisted: bool
    kind: str = "other"
    labels: tuple[str, ...] = ()


class Buttons:
    """Live button keys of this process; see the module doc."""

    def __init__(
        self, pending: PendingChoices | None = None, *, gate: ButtonGate | None = None
    ) -> None:
        self._pending = pending
        self._gate = gate
        self._routes: dict[str, _Route] = {}
        self._withdrawn: set[str] = set()

    def __len__(self) -> int:
        return len(self._routes)

    async def register(
        self,
        chat_id: int,
        handler: PressHandler,
        *,
        kind: str,
        payload: Any = None,
        ttl: timedelta | None = None,
    ) -> str:
        """A new key for buttons shown in ``chat_id``.

        With a ``ttl`` and a pending-choice store, the key is also recorded there (kind
        and JSON ``payload``) so a press after a restart can be answered clearly.
        """
        if self._pending is not None and ttl is not None:
            key = await self._pending.put(
                app=APP, chat_id=chat_id, kind=kind, payload=payload, ttl=ttl
            )
            persisted = True
        else:
            key = secrets.token_urlsafe(9)
            while key in self._routes:
                key = secrets.token_urlsafe(9)
            persisted = False
        labels: tuple[str, ...] = ()
        if isinstance(payload, dict):
            kind = str(payload.get("kind", kind))
            labels = tuple(str(o[1]) for o in payload.get("options", ()))
        self._routes[key] = _Route(chat_id, handler, persisted, kind, labels)
        return key

    async def release(self, key: str, *, withdrawn: bool = False) -> None:
        """The buttons behind ``key`` are answered: forget it here and in the database.

        ``withdrawn``: nobody answered, the asker gave up (a cancelled turn, the bot
        shutting down). The database record stays until it expires, so a press after a
        restart is told the bot restarted; before that, it is told the question was
        withdrawn.
        """
        route = self._routes.pop(key, None)
        if withdrawn:
            self._withdrawn.add(key)
            return
        if route is not None and route.persisted and self._pending is not None:
            try:
                await self._pending.pop(key, app=APP, chat_id=route.chat_id)
            except Exception as exc:  # the database closing at shutdown loses nothing
                log.warning("telegram_button_release_failed", error=repr(exc))

    async def press(self, data: str, chat_id: int, user_id: int) -> PressReply:
        """What pressing a button with ``data`` in ``chat_id`` does."""
        key, _, rest = data.partition(KEY_SEPARATOR)
        route = self._routes.get(key)
        if route is not None and route.chat_id == chat_id:
            if self._gate is not None:
                label = _label(route, rest)
                refusal = self._gate(chat_id, user_id, route.kind, label)
                if refusal is not None:
                    return PressReply(refusal, show_alert=True)
            return await route.handler(rest, user_id)
        if key in self._withdrawn:
            return PressReply(WITHDRAWN, remove_keyboard=True)
        if route is None and self._pending is not None and key:
            stored = await self._pending.pop(key, app=APP, chat_id=chat_id)
            if stored is not None:
                return PressReply(EXPIRED_AFTER_RESTART, remove_keyboard=True, show_alert=True)
        return PressReply(EXPIRED, remove_keyboard=True)


def _label(route: _Route, suffix: str) -> str:
    if route.kind == "stop":
        return "Stop"
    index = int(suffix) if suffix.isdigit() else -1
    return route.labels[index] if 0 <= index < len(route.labels) else suffix


def button_data(key: str, suffix: str = "") -> str:
    """The ``callback_data`` of a button: the key, and which option it is."""
    data = f"{key}{KEY_SEPARATOR}{suffix}" if suffix else key
    if len(data.encode("utf-8")) > 64:
        raise ValueError(f"callback data over 64 bytes: {data!r}")
    return data
