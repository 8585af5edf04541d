"""TurnSource: what the command layer needs from the session layer, and nothing more.

The chat dispatcher is typed on this Protocol, not on :class:`~session_core.runner.TurnRunner`,
so its tests can play scripted turns (``tests/fakes/scripted_runner.py``) in
milliseconds while one contract test (``tests/e2e/test_turn_source_contract.py``) holds
the real runner and the scripted one to the same rules.

The contract of :meth:`TurnSource.stream_turn`:

- **Order.** Zero or more ``WaitingForSlot`` (the turn waits for a free Claude process
  slot), then exactly one ``TurnStarted``, then any ``TextDelta`` / ``ToolStarted`` /
  ``ToolFinished``, then exactly one ``TurnFinished``, last. Nothing follows it.
- **Never raises** for a turn that went wrong: a refused directory, a failed resume or a
  crashed CLI is a ``TurnFinished`` whose ``outcome`` says so (``error``,
  ``resume_failed``, ...). A failed resume that fell back to a fresh session says so in
  ``resume_failure`` on both ``TurnStarted`` and ``TurnFinished``.
- **Stable session id.** ``TurnFinished.session_id`` equals ``TurnStarted.session_id``.
- **Busy while running.** From ``TurnStarted`` until the stream ends,
  ``busy(session_id)`` is True (a second turn on the session waits its turn); once
  the stream is exhausted or closed it is False again.
- **Interrupt.** ``interrupt(session_id)`` on a running turn returns True and the turn
  ends soon with one ``TurnFinished(outcome="interrupted")``; on a session with no
  running turn it returns False and changes nothing.
- **Closing early.** A consumer that stops iterating closes the generator
  (``contextlib.aclosing``); the turn is then interrupted and the session freed.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Sequence
from typing import Protocol

from session_core.approvals import Approver
from session_core.chat_tools import FileSink
from session_core.claude_commands import CommandBook, SessionProbe
from session_core.events import ImageInput, TurnEvent
from session_core.vocabulary import PermissionMode


class TurnSource(Protocol):
    """Turns of Claude Code sessions as event streams; see the module doc for the rules."""

    commands: CommandBook
    """Claude Code's command list per directory, as the last turn (or probe) offered it."""

    def stream_turn(
        self,
        prompt: str,
        working_directory: str | os.PathLike[str],
        user_id: str | int,
        session_id: str | None = None,
        force_new: bool = False,
        *,
        approver: Approver | None = None,
        model: str | None = None,
        fork: bool = False,
        permission_mode: PermissionMode | None = None,
        images: Sequence[ImageInput] = (),
        file_sink: FileSink | None = None,
    ) -> AsyncGenerator[TurnEvent, None]:
        """One turn: ``session_id`` resumes it, None follows the directory's newest
        session, ``force_new`` starts fresh, ``fork`` copies the session's history into a
        new id."""
        ...

    async def warm_new_session(
        self,
        working_directory: str | os.PathLike[str],
        *,
        model: str | None = None,
        permission_mode: PermissionMode | None = None,
        with_approvals: bool = True,
        chat_tools: bool = False,
    ) -> bool:
        """A hint that the next turn in ``working_directory`` starts a new session with
        these arguments: get ready for it now. Changes no answer, only how soon it comes;
        False when nothing was prepared."""
        ...

    async def interrupt(self, session_id: str) -> bool:
        """Stop the turn running on ``session_id``; False when none runs."""
        ...

    def busy(self, session_id: str) -> bool:
        """A turn of this process runs on the session now (a new prompt would wait)."""
        ...

    def holder(self, session_id: str) -> str | None:
        """Who holds the session in any process sharing the claims (None: free)."""
        ...

    async def probe(
        self, working_directory: str | os.PathLike[str], session_id: str | None = None
    ) -> SessionProbe:
        """The directory's Claude Code commands and, with ``session_id``, its context
        usage. Raises ``SdkError`` when Claude Code cannot be asked."""
        ...

    async def aclose(self) -> None:
        """Shutting down: end every running turn and close what is open. Idempotent."""
        ...
