"""Who sent a chat message and what came with it: the values every app hands the
command layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from session_core.vocabulary import AppName


@dataclass(frozen=True, slots=True)
class Sender:
    app: AppName
    user_id: str
    display_name: str = ""
    mention: str = ""
    """How to mention them so their phone notifies (Discord ``<@id>``); may be empty."""


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: Literal["image", "document"]
    file_name: str
    data: bytes
    media_type: str
