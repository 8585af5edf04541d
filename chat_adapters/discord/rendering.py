"""How Discord messages are put together, and where a channel sits.

Discord renders Markdown itself, so text goes out as Claude wrote it, split at 2000
characters without breaking code fences. Status lines (tool activity, outcomes) are
plain text: escaped and shown as small "-#" subtext under the answer. Threads are keyed
under their parent channel, as the dispatcher expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord

from chat_adapters.surface import Capabilities, truncate_to
from chat_adapters.text_split import split_markdown
from storage.preferences import ChatKey

APP = "discord"
MESSAGE_LIMIT = 2000
MAX_FILE_BYTES = 8 * 1024 * 1024
"""Discord's upload limit for a server without boosts (10 MiB today; 8 MiB stays safe)."""
EDIT_INTERVAL_S = 1.0
THREAD_NAME_LIMIT = 100
NO_MENTIONS = discord.AllowedMentions.none()


def discord_capabilities(*, threads: bool) -> Capabilities:
    return Capabilities(
        max_message_length=MESSAGE_LIMIT,
        length_unit="characters",
        can_edit=True,
        min_edit_interval_s=EDIT_INTERVAL_S,
        button_data_limit_bytes=100,
        max_buttons_per_row=5,
        has_threads=threads,
        supports_files=True,
        max_file_bytes=MAX_FILE_BYTES,
    )


def render_status(lines: Sequence[str]) -> str:
    """Status lines as escaped "-#" subtext: plain text, never parsed as Markdown."""
    return "\n".join(
        f"-# {discord.utils.escape_markdown(' '.join(line.split()))}"
        for line in lines
        if line.strip()
    )


def compose(text: str, status: Sequence[str] = (), limit: int = MESSAGE_LIMIT) -> str:
    """One message: the Markdown text, then the status lines; the oldest status lines
    give way when both do not fit (callers keep the text itself within the limit)."""
    body = text.rstrip()
    lines = list(status)
    while True:
        rendered = render_status(lines)
        content = f"{body}\n\n{rendered}" if body and rendered else body or rendered
        if len(content) <= limit:
            return content
        if not lines:
            return truncate_to(content, limit)
        lines = lines[1:]


def thread_name(title: str) -> str:
    name = " ".join(title.split())
    return truncate_to(name, THREAD_NAME_LIMIT) or "Claude session"


def chunks(text: str, limit: int) -> list[str]:
    return [chunk for chunk in split_markdown(text, limit) if chunk.strip()]


def mention(user_id: str) -> tuple[str, discord.AllowedMentions]:
    """How to ping one user (and only them), so their phone notifies."""
    return f"<@{user_id}>", discord.AllowedMentions(users=[discord.Object(int(user_id))])


def chat_of(channel: Any) -> ChatKey:
    """Threads are keyed under their parent channel, as the dispatcher expects."""
    if isinstance(channel, discord.Thread) and channel.parent_id:
        return ChatKey.of(APP, channel.parent_id, channel.id)
    return ChatKey.of(APP, channel.id)


def press_chat(key: ChatKey) -> str:
    """The chat a button is bound to and a press is audited under."""
    return f"{key.chat_id}:{key.thread_id}" if key.thread_id else key.chat_id
