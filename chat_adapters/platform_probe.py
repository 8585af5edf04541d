"""Asking Telegram and Discord whether a token works, for `baton setup` and `baton doctor`.

Plain HTTP with the standard library (a few calls, no event loop, no chat library
import). Error messages never carry the token: Telegram puts it in the URL, so a
failure is described by its status and the API's own description only.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 15.0

DISCORD_SCOPES = ("bot", "applications.commands")
"""``bot`` joins the server; ``applications.commands`` lets it register slash commands."""

DISCORD_PERMISSIONS: dict[str, int] = {
    "View Channels": 1 << 10,
    "Send Messages": 1 << 11,
    "Attach Files": 1 << 15,
    "Read Message History": 1 << 16,
    "Create Public Threads": 1 << 35,
    "Send Messages in Threads": 1 << 38,
}
"""What the Discord app does: answer in channels, open a thread per session and talk in
it (reopening archived ones), attach long tool output as a file."""

_MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)
"""Application flags GATEWAY_MESSAGE_CONTENT and GATEWAY_MESSAGE_CONTENT_LIMITED."""


class ProbeError(Exception):
    """The platform refused or could not be reached; the message names no secret."""


@dataclass(frozen=True, slots=True)
class TelegramBot:
    id: int
    username: str
    reads_group_messages: bool
    """False while BotFather's privacy mode is on (groups: only commands and replies)."""


@dataclass(frozen=True, slots=True)
class TelegramSender:
    user_id: int
    name: str
    chat_id: int


@dataclass(frozen=True, slots=True)
class DiscordApp:
    id: str
    name: str
    message_content: bool
    """The Message Content intent is enabled in the developer portal."""


def discord_permissions() -> int:
    total = 0
    for bit in DISCORD_PERMISSIONS.values():
        total |= bit
    return total


def discord_invite_url(application_id: str) -> str:
    """The OAuth2 URL that adds the bot to a server with exactly what it needs."""
    query = urllib.parse.urlencode(
        {
            "client_id": application_id,
            "scope": " ".join(DISCORD_SCOPES),
            "permissions": str(discord_permissions()),
        }
    )
    return f"https://discord.com/oauth2/authorize?{query}"


def _call(url: str, *, headers: dict[str, str] | None = None, timeout_s: float = TIMEOUT_S) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": "claude-baton", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            return json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read().decode("utf-8"))
        except (ValueError, OSError):
            body = {}
        detail = body.get("description") or body.get("message") or exc.reason
        raise ProbeError(f"HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise ProbeError(f"cannot reach the API: {reason}") from None


def _telegram(
    api_url: str, token: str, method: str, timeout_s: float = TIMEOUT_S, **params: Any
) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    answer = _call(f"{api_url.rstrip('/')}/bot{token}/{method}{query}", timeout_s=timeout_s)
    if not isinstance(answer, dict) or not answer.get("ok"):
        raise ProbeError(f"{method} failed: {answer}")
    return answer["result"]


def telegram_get_me(api_url: str, token: str) -> TelegramBot:
    me = _telegram(api_url, token, "getMe")
    return TelegramBot(
        id=int(me["id"]),
        username=str(me.get("username", "")),
        reads_group_messages=bool(me.get("can_read_all_group_messages")),
    )


def telegram_wait_for_sender(api_url: str, token: str, timeout_s: float = 120.0) -> TelegramSender:
    """The sender of the next message to the bot; the message is then consumed, so the
    bot does not answer it when it starts."""
    deadline = time.monotonic() + timeout_s
    offset: int | None = None
    while (left := deadline - time.monotonic()) > 0:
        poll = int(min(left, 30))
        params: dict[str, Any] = {"timeout": poll, "allowed_updates": '["message"]'}
        if offset is not None:
            params["offset"] = offset
        updates = _telegram(api_url, token, "getUpdates", timeout_s=poll + 10, **params)
        for update in updates:
            offset = int(update["update_id"]) + 1
            message = update.get("message") or {}
            sender = message.get("from")
            if sender and not sender.get("is_bot"):
                _telegram(api_url, token, "getUpdates", offset=offset, timeout=0)
                name = " ".join(filter(None, (sender.get("first_name"), sender.get("last_name"))))
                return TelegramSender(int(sender["id"]), name, int(message["chat"]["id"]))
    raise ProbeError(f"no message arrived within {timeout_s:.0f} s")


def discord_application(api_url: str, token: str) -> DiscordApp:
    app = _call(
        f"{api_url.rstrip('/')}/v10/applications/@me", headers={"Authorization": f"Bot {token}"}
    )
    return DiscordApp(
        id=str(app["id"]),
        name=str(app.get("name", "")),
        message_content=bool(int(app.get("flags") or 0) & _MESSAGE_CONTENT_FLAGS),
    )
