"""After a crash: prompts that were acknowledged but never finished run again.

Each app calls :func:`recover_prompts` once it can send (Telegram after polling starts,
Discord once the gateway is ready), with a way to get a surface for a chat. A prompt
whose session moved on meanwhile (a newer prompt in history.jsonl than this one, from
the terminal or another door) is not run blindly: the chat is asked "run it now?".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from chat_adapters.chat_input import Sender
from chat_adapters.choices import Choice, ChoicePrompt
from chat_adapters.dispatch import ChatDispatcher
from chat_adapters.session_views import one_line, short_id
from chat_adapters.surface import Surface
from session_core.catalog import SessionSummary
from storage import ChatKey, InboundPrompt

log = structlog.get_logger(__name__)

SurfaceFor = Callable[[InboundPrompt], Awaitable[Surface | None]]
_RUN, _DROP = "run", "drop"


async def recover_prompts(dispatcher: ChatDispatcher, app: str, surface_for: SurfaceFor) -> int:
    """Run (or ask about) every prompt of ``app`` a crash left unfinished; how many."""
    prompts = await dispatcher.inbound.interrupted(app)
    # Decided before any of them runs: a rerun appends to history.jsonl itself.
    moved = [await _moved_on(dispatcher, prompt) for prompt in prompts]
    for prompt, moved_on in zip(prompts, moved, strict=True):
        try:
            await _recover(dispatcher, prompt, moved_on, surface_for)
        except Exception:
            log.exception("inbound_recovery_failed", app=app, message_id=prompt.message_id)
    if prompts:
        log.info("inbound_recovered", app=app, count=len(prompts))
    return len(prompts)


async def _recover(
    dispatcher: ChatDispatcher,
    prompt: InboundPrompt,
    moved: SessionSummary | None,
    surface_for: SurfaceFor,
) -> None:
    surface = await surface_for(prompt)
    if surface is None:
        log.warning("inbound_chat_gone", chat=prompt.chat.chat_id, message_id=prompt.message_id)
        return  # kept open: the next start tries again
    sender = Sender(
        app="discord" if prompt.chat.app == "discord" else "telegram",
        user_id=prompt.user_id,
        display_name=prompt.display_name,
        mention=prompt.mention,
    )
    quoted = f"“{one_line(prompt.text, 80)}”"
    lost_files = (
        f" The {prompt.attachments} file(s) sent with it were not kept: send them again."
        if prompt.attachments
        else ""
    )
    if moved is None:
        await surface.send_text(
            f"↻ The bot restarted before it finished your message {quoted}: running it now."
            + lost_files
        )
        await _run(dispatcher, surface, sender, prompt)
        return
    dispatcher.background.spawn(
        _ask(dispatcher, surface, sender, prompt, moved, lost_files),
        name="recovery-question",
        until_close=True,
    )


async def _ask(
    dispatcher: ChatDispatcher,
    surface: Surface,
    sender: Sender,
    prompt: InboundPrompt,
    moved: SessionSummary,
    lost_files: str,
) -> None:
    question = ChoicePrompt(
        title="Run it now?",
        body=(
            f"The bot restarted before it finished your message "
            f"“{one_line(prompt.text, 200)}”. Session `{short_id(moved.session_id)}` has "
            f"moved on since (last: “{one_line(moved.last_prompt, 80)}”)." + lost_files
        ),
        options=(Choice(_RUN, "Run it now", "primary"), Choice(_DROP, "Drop it", "secondary")),
        timeout_choice=_DROP,
        timeout_s=dispatcher.policy.approval_timeout_s,
    )
    answer = await surface.ask_choice(question)
    if answer.choice_id == _RUN:
        await _run(dispatcher, surface, sender, prompt)
        return
    await dispatcher.inbound.finish(prompt.chat, prompt.message_id)
    with contextlib.suppress(Exception):
        await surface.send_text("Dropped: nothing was sent to Claude.")


async def _run(
    dispatcher: ChatDispatcher, surface: Surface, sender: Sender, prompt: InboundPrompt
) -> None:
    dispatcher.inbound.replay(prompt)
    await dispatcher.on_text(surface, prompt.chat, sender, prompt.text, (), prompt.message_id)


async def _moved_on(dispatcher: ChatDispatcher, prompt: InboundPrompt) -> SessionSummary | None:
    """The prompt's session when a newer prompt than this one reached it, else None."""
    if prompt.session_id:
        summary = await asyncio.to_thread(dispatcher.catalog.get, prompt.session_id)
    else:
        summary = await dispatcher.current(prompt.chat)
    if summary is None or not summary.prompt_count:
        return None
    newer = summary.last_activity > prompt.received_at
    if newer and summary.last_prompt.strip() != prompt.text.strip():
        return summary
    return None


def chat_ids(chat: ChatKey) -> tuple[int, int | None]:
    """The app's numeric ids of a chat and its thread/topic."""
    return int(chat.chat_id), int(chat.thread_id) if chat.thread_id else None
