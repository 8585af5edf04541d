"""Files from the session's directory to the chat: ``send_to_chat`` and ``/get``.

One path for both: the file is already confined (``session_core.chat_tools.confine``),
checked against the app's size limit before it is read, redacted when it is text
(a log or a config file leaves like any other output), and sent as a photo where the
app shows photos apart from documents (Telegram), else as a document.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import structlog

from chat_adapters.redaction import Redactor
from chat_adapters.surface import MessageRef, Surface
from session_core.chat_tools import FileOffer

log = structlog.get_logger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
PHOTO_MAX_BYTES = 10 * 1024 * 1024
"""Telegram's limit for photos; a larger image goes as a document."""


@runtime_checkable
class PhotoSender(Protocol):
    """A surface that shows images as photos, apart from documents (Telegram)."""

    async def deliver_photo(self, name: str, data: bytes, caption: str = "") -> MessageRef: ...


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _is_text(data: bytes) -> bool:
    if b"\0" in data[:8192]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class ChatFileSink:
    """A :class:`~session_core.chat_tools.FileSink` for one surface."""

    surface: Surface
    redactor: Redactor

    async def __call__(self, offer: FileOffer) -> str:
        caps = self.surface.capabilities
        name = offer.path.name
        if not caps.supports_files:
            raise ValueError("this chat cannot receive files")
        size = (await asyncio.to_thread(offer.path.stat)).st_size
        if size == 0:
            raise ValueError(f"{name} is empty")
        if size > caps.max_file_bytes:
            raise ValueError(
                f"{name} is {_megabytes(size)}; this chat takes files up to "
                f"{_megabytes(caps.max_file_bytes)}"
            )
        data = await asyncio.to_thread(offer.path.read_bytes)
        if _is_text(data):
            data = self.redactor(data.decode("utf-8")).encode("utf-8")
        caption = self.redactor(offer.caption.strip())
        image = offer.path.suffix.casefold() in IMAGE_SUFFIXES
        if image and len(data) <= PHOTO_MAX_BYTES and isinstance(self.surface, PhotoSender):
            try:
                await self.surface.deliver_photo(name, data, caption)
                return f"Sent {name} to the chat as a photo."
            except Exception as exc:  # odd dimensions or format: a document still shows it
                log.info("photo_refused", name=name, error=str(exc)[:200])
        await self.surface.deliver_file(name, data, caption)
        return f"Sent {name} ({_megabytes(len(data))}) to the chat as a document."
