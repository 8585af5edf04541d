"""The Bot API as every Telegram piece calls it: limits, pacing, retries, errors.

Network errors are retried a few times with backoff; a request Telegram refused is
not. Each chat's sends and edits go through one :class:`~chat_adapters.outbox.Outbox`
paced to that chat's rate limit, and a 429 pauses the chat for its ``retry_after``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram import LinkPreviewOptions
from telegram.error import BadRequest, NetworkError, RetryAfter
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from chat_adapters.outbox import Outbox
from chat_adapters.surface import Capabilities
from chat_adapters.telegram.markdown import render_markdown
from chat_adapters.telegram.message_text import MessageText

T = TypeVar("T")

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_TEXT = 200
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PRIVATE_EDIT_INTERVAL_S = 1.0
"""About one message per second per chat."""
GROUP_EDIT_INTERVAL_S = 3.0
"""Groups allow about 20 messages a minute."""
PACING_MARGIN = 1.05
NO_PREVIEWS = LinkPreviewOptions(is_disabled=True)


def capabilities_for(chat_id: int) -> Capabilities:
    """Group chats (negative ids) have a stricter rate limit than private ones."""
    interval = GROUP_EDIT_INTERVAL_S if chat_id < 0 else PRIVATE_EDIT_INTERVAL_S
    return Capabilities(
        max_message_length=MAX_MESSAGE,
        length_unit="utf16",
        can_edit=True,
        min_edit_interval_s=interval,
        button_data_limit_bytes=64,
        max_buttons_per_row=3,
        supports_files=True,
        max_file_bytes=MAX_UPLOAD_BYTES,
    )


def outbox_for(chat_id: int, *, name: str | None = None) -> Outbox:
    """The outbox one chat's surfaces share, paced to that chat's rate limit (plus a
    margin: requests leave on time but arrive with network jitter)."""
    return Outbox(
        min_interval_s=capabilities_for(chat_id).min_edit_interval_s * PACING_MARGIN,
        retry_after=telegram_retry_after,
        name=name or f"telegram:{chat_id}",
    )


def telegram_retry_after(exc: BaseException) -> float | None:
    """The wait a PTB ``RetryAfter`` asks for, in seconds; None for other errors."""
    if not isinstance(exc, RetryAfter):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns that int periods become timedeltas
        wait = exc.retry_after
    seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
    return seconds if math.isfinite(seconds) and seconds >= 0 else 1.0


def _transient(exc: BaseException) -> bool:
    """Worth retrying: the network failed. BadRequest subclasses NetworkError in PTB,
    but a request Telegram refused will be refused again."""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


async def call_api(call: Callable[[], Awaitable[T]], *, attempts: int = 4) -> T:
    """``call()``, retried with backoff while the network fails."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(_transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.25, max=4.0),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity re-raises the last error")


def not_modified(exc: BadRequest) -> bool:
    return "not modified" in exc.message.lower()


def bad_entities(exc: BadRequest) -> bool:
    return "can't parse entities" in exc.message.lower()


def edit_target_gone(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "message to edit not found" in text or "message can't be edited" in text


def render_chunks(markdown: str, limit: int = MAX_MESSAGE) -> list[MessageText]:
    """Messages of at most ``limit`` UTF-16 units carrying all of ``markdown``: split
    before rendering without breaking code blocks, see :mod:`.markdown`."""
    return [MessageText.rendered(m) for m in render_markdown(markdown, limit=limit)]
