"""A chat's binding: its directory plus a pinned session or "follow the newest there".

Every change (``/new``, ``/resume``, a pick, ``/cd``) bumps the chat's generation first:
a turn that was running when the binding changed sees it moved on and leaves the
binding alone afterwards (the person's choice wins).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import structlog

from chat_adapters.chat_modes import chat_mode
from chat_adapters.chat_services import ChatServices
from chat_adapters.relative_time import ago
from chat_adapters.session_views import one_line, resumed_text, short_id
from chat_adapters.surface import Surface
from session_core.catalog import SessionSummary
from session_core.roots import OutsideRoots
from storage import ChatKey, ChatPreferences

log = structlog.get_logger(__name__)

OUTSIDE_NOTE = "outside the approved roots (pick another with /sessions or /cd)"


@runtime_checkable
class ThreadOpener(Protocol):
    """A surface that can start a thread for a session (Discord)."""

    async def open_thread(self, title: str, existing: str | None = None) -> tuple[Surface, ChatKey]:
        """A thread for a session: ``existing`` (a thread id of this channel) when it
        still exists, else a new one named ``title``."""
        ...


class Binding:
    def __init__(self, services: ChatServices) -> None:
        self._s = services
        self._generations: dict[ChatKey, int] = {}

    # -- reading -------------------------------------------------------------------------

    def generation(self, chat: ChatKey) -> int:
        """How many binding changes ``chat`` had (compare before and after a turn)."""
        return self._generations.get(chat, 0)

    def directory(self, prefs: ChatPreferences) -> Path:
        """The chat's directory, checked: one saved before the roots were narrowed (or
        a symlink since pointed elsewhere) is never used; the default root is."""
        roots = self._s.roots
        if prefs.directory and roots.allows(prefs.directory):
            return roots.check(prefs.directory)
        return roots.default

    async def chat_directory(self, chat: ChatKey) -> Path:
        return self.directory(await self._s.db.preferences.get(chat))

    def directories(self) -> list[Path]:
        """The roots and their visible subdirectories (what the /cd picker offers)."""
        roots = self._s.roots
        found: list[Path] = []
        for root in roots.roots:
            found.append(root)
            with contextlib.suppress(OSError):
                found.extend(
                    sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
                )
        return [d for d in found if roots.allows(d)]

    def pretty_dir(self, path: Path) -> str:
        for root in self._s.roots.roots:
            if path != root and path.is_relative_to(root):
                return f"{root.name}/{path.relative_to(root)}"
        return str(path)

    async def bound_session(self, prefs: ChatPreferences, directory: Path) -> SessionSummary | None:
        catalog, roots = self._s.catalog, self._s.roots
        if prefs.pinned_session_id:
            summary = await asyncio.to_thread(catalog.get, prefs.pinned_session_id)
            if summary is not None:
                roots.check(summary.project)
                return summary
            # A pinned session the catalog no longer knows: the runner reports the failure.
            return SessionSummary(
                session_id=prefs.pinned_session_id,
                project=str(directory),
                first_prompt="",
                last_prompt="",
                last_activity=datetime.now(UTC),
                prompt_count=0,
                has_transcript=False,
                live=None,
            )
        newest = await asyncio.to_thread(catalog.newest_resumable, directory)
        if newest is not None:
            roots.check(newest.project)
        return newest

    async def current(self, chat: ChatKey) -> SessionSummary | None:
        """The session the chat's next message goes to (None: a new one)."""
        prefs = await self._s.db.preferences.get(chat)
        if prefs.force_new:
            return None
        return await self.bound_session(prefs, self.directory(prefs))

    async def where(self, prefs: ChatPreferences) -> str:
        """``Directory: …`` and ``Session: …``, as /help and /status show them."""
        directory = self.directory(prefs)
        if prefs.force_new:
            session = "a new one (next message)"
        else:
            try:
                summary = await self.bound_session(prefs, directory)
            except OutsideRoots:
                summary, session = None, OUTSIDE_NOTE
            else:
                if summary is None:
                    session = "none yet (your next message starts one)"
                else:
                    how = "pinned" if prefs.pinned_session_id else "following the newest"
                    title = one_line(summary.first_prompt, 50) or "…"
                    session = f"`{short_id(summary.session_id)}` “{title}” ({how})"
        stale = prefs.directory and not self._s.roots.allows(prefs.directory)
        note = " (the saved one is outside the approved roots now)" if stale else ""
        return f"Directory: `{directory}`{note}\nSession: {session}"

    # -- changing ------------------------------------------------------------------------

    def _rebind(self, chat: ChatKey) -> None:
        self._generations[chat] = self.generation(chat) + 1

    async def pin(self, surface: Surface, chat: ChatKey, summary: SessionSummary) -> None:
        """Continue ``summary`` in this chat (in its own thread where the app has them)."""
        project = self._s.roots.check(summary.project)
        preview = await asyncio.to_thread(self._s.catalog.preview, summary.session_id, 4)
        target, key = await self._session_home(
            surface, chat, summary.first_prompt, summary.session_id
        )
        self._rebind(key)
        await self._s.db.preferences.update(
            key,
            directory=str(project),
            pinned_session_id=summary.session_id,
            force_new=False,
            last_seen_session_id=summary.session_id,
        )
        await target.send_text(resumed_text(summary, preview))

    async def start_new(self, surface: Surface, chat: ChatKey) -> None:
        prefs = await self._s.db.preferences.get(chat)
        target, key = await self._session_home(surface, chat, "New session")
        self._rebind(key)
        await self._s.db.preferences.update(
            key, directory=str(self.directory(prefs)), pinned_session_id=None, force_new=True
        )
        await target.send_text(
            f"🆕 Your next message starts a new session in `{self.directory(prefs)}`."
        )
        await self._warm_for(key)

    async def _warm_for(self, chat: ChatKey) -> None:
        """The chat's next message starts a new session: have it started meanwhile."""
        if self._s.policy.warm_new_sessions:
            chosen = await self._s.db.preferences.get(chat)
            self._s.background.spawn(self._warm(chosen), name=f"warm-{chat.chat_id}")

    async def _warm(self, prefs: ChatPreferences) -> None:
        """Start Claude Code for the new session while the person types its first prompt,
        with what that turn will ask for (``turn_flow``): a chat turn has an approver and
        the chat tools."""
        try:
            await self._s.runner.warm_new_session(
                self.directory(prefs),
                model=prefs.model or self._s.policy.model,
                permission_mode=chat_mode(self._s.policy, prefs).mode,
                with_approvals=True,
                chat_tools=True,
            )
        except Exception as exc:  # a hint: the turn starts its own CLI anyway
            log.warning("warm_new_session_failed", error=repr(exc))

    async def change_directory(self, surface: Surface, chat: ChatKey, target: Path) -> None:
        target = self._s.roots.check(target)  # typed or picked: the same decision
        self._rebind(chat)
        await self._s.db.preferences.update(
            chat, directory=str(target), pinned_session_id=None, force_new=False
        )
        newest = await asyncio.to_thread(self._s.catalog.newest_resumable, target)
        follow = (
            f"Following its newest session: “{one_line(newest.first_prompt, 60)}” "
            f"(`{short_id(newest.session_id)}`, {ago(newest.last_activity)})."
            if newest
            else "No sessions there yet: your next message starts one."
        )
        await surface.send_text(f"📁 Directory: `{target}`\n{follow}")
        if newest is None:
            await self._warm_for(chat)

    async def _session_home(
        self, surface: Surface, chat: ChatKey, title: str, session_id: str | None = None
    ) -> tuple[Surface, ChatKey]:
        """Where a picked session lives: its thread where the app has threads (the one it
        already has in this channel, else a new one named after it)."""
        if not (
            surface.capabilities.has_threads
            and not chat.thread_id
            and isinstance(surface, ThreadOpener)
        ):
            return surface, chat
        existing = (
            await self._s.db.preferences.thread_pinned_to(chat, session_id) if session_id else None
        )
        return await surface.open_thread(
            one_line(title or "Claude session", 90),
            existing=existing.thread_id if existing else None,
        )
