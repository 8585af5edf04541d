"""Where a button press or a typed answer finds what it belongs to, for every app.

A button carries a short random key (Telegram puts it in ``callback_data``, Discord in
a ``custom_id``; each app owns only that encoding and how a prompt looks). What the key
means lives here, for this process: the chat it was shown in (a press from another
chat does nothing), what kind of button it is, and the handler a press calls. Choice
prompts are also recorded in the database (``storage.pending``) while they wait, so a
press that arrives after a restart is told plainly that the bot restarted, the same
way on every app. Keys closed here (answered, withdrawn, a finished reply) are
remembered for a while, so a late press gets the right words instead of "expired".

A free-text prompt also waits for typed text in its chat; the oldest such prompt of a
chat takes the next message typed there. Every press of a live key goes through the
press gate (:class:`~chat_adapters.press_gate.PressGate`) first, which may refuse it to
the presser and audits it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog

from chat_adapters.choices import ChoiceAnswer, ChoicePrompt
from chat_adapters.press_gate import Press, PressGate
from chat_adapters.surface import StopCallback
from storage.pending import PendingChoices

log = structlog.get_logger(__name__)

EXPIRED = "This button has expired."
EXPIRED_AFTER_RESTART = "This question expired: the bot restarted after asking it."
WITHDRAWN = "This question is no longer waiting for an answer."
ANSWERED = "This question was already answered."
FINISHED = "This reply has already finished."
NOT_AN_OPTION = "This button is not part of the question."
STOPPING = "Stopping…"
ALREADY_STOPPING = "Already stopping…"
TYPED_ANSWER = "→ Answered the open question."
WITHDRAWN_NOTE = "(no longer waiting for an answer)"
"""Shown on a prompt nobody answered because the asker gave up (a cancelled turn)."""
MAX_CLOSED = 4096
"""Closed keys remembered; an older one pressed is answered as simply expired."""
RESTART_GRACE = timedelta(seconds=60)
"""A prompt's record outlives its timeout by this much, for presses racing it."""
NOTE_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Presser:
    """Who pressed: their id in the app, and the name to show."""

    user_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class PressReply:
    """How to answer a press: the short notice the presser sees, and whether the
    buttons it came from are dead and should be taken off their message."""

    text: str
    remove_buttons: bool = False
    alert: bool = False
    """Shown so it cannot be missed (a refusal, a question lost to a restart)."""
    chosen: str | None = None
    """The label of the option this press answered."""
    then: StopCallback | None = field(default=None, compare=False)
    """Work to do once the press is acknowledged (Stop interrupts the turn)."""


PressCheck = Callable[[str, str, str, str], str | None]
"""Called with chat, presser id, the button's kind ("approval", "question", "plan",
"other", "stop") and its label; None lets the press through, a text refuses it."""

PressHandler = Callable[[str, Presser], Awaitable[PressReply]]
"""Called with the part of the button's data after the key (an option index, or "")."""


def press_check(presses: PressGate, app: str) -> PressCheck:
    """Presses of ``app`` go through the dispatcher's press gate (decided and audited)."""

    def check(chat: str, user_id: str, kind: str, label: str) -> str | None:
        return presses.check(Press(app, user_id, chat, kind, label))

    return check


def new_key() -> str:
    """12 URL-safe characters: unguessable, so a key is no use outside its message."""
    return secrets.token_urlsafe(9)


@dataclass(frozen=True, slots=True)
class _Route:
    chat: str
    handler: PressHandler
    persisted: bool
    kind: str
    labels: tuple[str, ...]


class Interactions:
    """Live keys of one app in this process; see the module doc."""

    def __init__(
        self, app: str, store: PendingChoices | None = None, *, gate: PressCheck | None = None
    ) -> None:
        self.app = app
        self._store = store
        self._gate = gate
        self._routes: dict[str, _Route] = {}
        self._closed: OrderedDict[str, str] = OrderedDict()
        self._typed: dict[str, list[OpenChoice]] = {}

    def __len__(self) -> int:
        return len(self._routes)

    async def open(
        self,
        chat: str,
        handler: PressHandler,
        *,
        kind: str,
        labels: Sequence[str] = (),
        payload: Any = None,
        ttl: timedelta | None = None,
    ) -> str:
        """A new key for buttons shown in ``chat``. With a ``ttl`` it is also recorded
        in the database (``kind`` and JSON ``payload``) for presses after a restart."""
        if self._store is not None and ttl is not None:
            key = await self._store.put(
                app=self.app, chat_id=chat, kind=kind, payload=payload, ttl=ttl
            )
            persisted = True
        else:
            key = new_key()
            while key in self._routes:
                key = new_key()
            persisted = False
        self._routes[key] = _Route(chat, handler, persisted, kind, tuple(labels))
        return key

    async def close(self, key: str, *, withdrawn: bool = False) -> None:
        """The buttons behind ``key`` are done with: forget it here and in the database.

        ``withdrawn``: nobody answered, the asker gave up (a cancelled turn, the bot
        shutting down). The database record then stays until it expires, so a press
        after a restart is told the bot restarted.
        """
        route = self._routes.pop(key, None)
        if route is None:
            return
        self._remember(key, WITHDRAWN if withdrawn else _closed_note(route.kind))
        if withdrawn or not route.persisted or self._store is None:
            return
        try:
            await self._store.pop(key, app=self.app, chat_id=route.chat)
        except Exception as exc:  # the database closing at shutdown loses nothing
            log.warning("interaction_release_failed", app=self.app, error=repr(exc))

    async def press(self, key: str, suffix: str, chat: str, presser: Presser) -> PressReply:
        """What pressing the button (``key``, ``suffix``) in ``chat`` does."""
        route = self._routes.get(key)
        if route is not None and route.chat == chat:
            if self._gate is not None:
                refusal = self._gate(chat, presser.user_id, route.kind, _label(route, suffix))
                if refusal is not None:
                    return PressReply(refusal, alert=True)
            return await route.handler(suffix, presser)
        if route is None and key in self._closed:
            return PressReply(self._closed[key], remove_buttons=True)
        if route is None and self._store is not None and key:
            stored = await self._store.pop(key, app=self.app, chat_id=chat)
            if stored is not None:
                return PressReply(EXPIRED_AFTER_RESTART, remove_buttons=True, alert=True)
        return PressReply(EXPIRED, remove_buttons=True)

    def _remember(self, key: str, note: str) -> None:
        self._closed[key] = note
        while len(self._closed) > MAX_CLOSED:
            self._closed.popitem(last=False)

    # -- choice prompts ------------------------------------------------------------------

    async def open_choice(
        self,
        prompt: ChoicePrompt,
        *,
        chat: str,
        where: str,
    ) -> OpenChoice:
        """Keys and typed-answer routing for one shown ``prompt`` in ``chat`` (typed
        answers come from ``where``: the surface id). The record kept for restarts
        names the surface, the asker and the options."""
        choice = OpenChoice(prompt, where)
        choice.key = await self.open(
            chat,
            choice.pressed,
            kind=prompt.kind,
            labels=[o.label for o in prompt.options],
            payload={
                "surface": where,
                "asker": prompt.notify.user_id if prompt.notify is not None else None,
                "kind": prompt.kind,
                "title": prompt.title,
                "options": [[o.id, o.label] for o in prompt.options],
            },
            ttl=timedelta(seconds=prompt.timeout_s) + RESTART_GRACE,
        )
        if prompt.allows_free_text:
            self._typed.setdefault(where, []).append(choice)
        return choice

    async def close_choice(self, choice: OpenChoice, answer: ChoiceAnswer | None) -> None:
        """Take ``choice`` out of routing; ``answer`` None: withdrawn, nobody answered."""
        choice.withdraw()
        waiting = self._typed.get(choice.where)
        if waiting is not None and choice in waiting:
            waiting.remove(choice)
            if not waiting:
                del self._typed[choice.where]
        if choice.key:
            await self.close(choice.key, withdrawn=answer is None)

    def answer_typed(self, where: str, text: str) -> bool:
        """A message typed in ``where`` answers its oldest open free-text prompt. False:
        no prompt wanted it, the text is a new prompt for Claude."""
        return any(choice.typed(text) for choice in list(self._typed.get(where, ())))

    def waiting_for_text(self, where: str) -> bool:
        return any(not choice.answered for choice in self._typed.get(where, ()))


class OpenChoice:
    """One shown :class:`ChoicePrompt` waiting for a press, typed text or its timeout."""

    def __init__(self, prompt: ChoicePrompt, where: str) -> None:
        self.prompt = prompt
        self.where = where
        self.key = ""
        self.by_press = False
        """A press answered it (the app may already show the answer on the message)."""
        self._future: asyncio.Future[ChoiceAnswer] = asyncio.get_running_loop().create_future()

    @property
    def answered(self) -> bool:
        return self._future.done()

    async def pressed(self, suffix: str, presser: Presser) -> PressReply:
        options = self.prompt.options
        if not suffix.isdigit() or int(suffix) >= len(options):
            return PressReply(NOT_AN_OPTION)
        option = options[int(suffix)]
        if not self._resolve(self.prompt.answer(option.id)):
            return PressReply(ANSWERED)
        self.by_press = True
        return PressReply(f"→ {option.label}", chosen=option.label)

    def typed(self, text: str) -> bool:
        if not self.prompt.allows_free_text or not text.strip():
            return False
        return self._resolve(self.prompt.free_text_answer(text))

    async def wait(self) -> ChoiceAnswer:
        """The answer, or after ``timeout_s`` the prompt's timeout answer."""
        try:
            async with asyncio.timeout(self.prompt.timeout_s):
                return await asyncio.shield(self._future)
        except TimeoutError:
            self._resolve(self.prompt.timeout_answer())  # unless an answer won the race
            return self._future.result()

    def withdraw(self) -> None:
        """No answer is taken any more (a late press is told it was answered)."""
        if not self._future.done():
            self._future.cancel()

    def _resolve(self, answer: ChoiceAnswer) -> bool:
        if self._future.done():
            return False
        self._future.set_result(answer)
        return True


class StopPress:
    """What a live reply's Stop button does: ``on_stop`` once, and clear words after."""

    def __init__(self, on_stop: StopCallback) -> None:
        self._on_stop = on_stop
        self.stopping = False
        self.finished = False

    async def pressed(self, _suffix: str, _presser: Presser) -> PressReply:
        if self.finished:
            return PressReply(FINISHED, remove_buttons=True)
        if self.stopping:
            return PressReply(ALREADY_STOPPING)
        self.stopping = True
        return PressReply(STOPPING, then=self._on_stop)


def answer_note(prompt: ChoicePrompt, answer: ChoiceAnswer | None) -> str:
    """The line a prompt's message ends with once settled: what was chosen, typed, or
    that time ran out, or that nobody waits for an answer any more."""
    if answer is None:
        return WITHDRAWN_NOTE
    if answer.text is not None:
        text = " ".join(answer.text.split())
        return "→ " + (text if len(text) <= NOTE_LIMIT - 2 else text[: NOTE_LIMIT - 3] + "…")
    label = prompt.option(answer.choice_id or "").label
    return f"⏱ No answer in time: {label}" if answer.timed_out else f"→ {label}"


def _closed_note(kind: str) -> str:
    return FINISHED if kind == "stop" else ANSWERED


def _label(route: _Route, suffix: str) -> str:
    if route.kind == "stop":
        return "Stop"
    index = int(suffix) if suffix.isdigit() else -1
    return route.labels[index] if 0 <= index < len(route.labels) else suffix
