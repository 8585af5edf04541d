"""The commands about which session and directory a chat talks to: /start, /help,
/sessions, /resume, /new, /cd, /history and /handoff."""

from __future__ import annotations

import asyncio

from chat_adapters.command_calls import CommandCall, CommandGroup
from chat_adapters.commands import commands_for
from chat_adapters.pickers import directory_picker, session_picker
from chat_adapters.session_views import handoff_text, help_text, preview_lines, short_id

group = CommandGroup()

NO_SESSION_TEXT = "No session yet: send a message to start one."


@group("start")
@group("help")
async def help_(call: CommandCall) -> None:
    layer = call.layer
    prefs = await layer.services.db.preferences.get(call.chat)
    where = await layer.binding.where(prefs)
    await call.surface.send_text(help_text(commands_for(call.sender.app), where))


@group("sessions")
async def sessions(call: CommandCall) -> None:
    layer = call.layer
    layer.services.spawn(
        session_picker(layer.services, layer.binding, call.surface, call.chat), call.surface
    )


@group("resume")
async def resume(call: CommandCall) -> None:
    if not call.args:
        await call.surface.send_text(
            "Usage: /resume <session id or prefix> (or pick one in /sessions)"
        )
        return
    catalog = call.layer.services.catalog
    summary = await asyncio.to_thread(catalog.resolve, call.args.split()[0])
    if not summary.has_transcript:
        await call.surface.send_text(
            f"Session `{short_id(summary.session_id)}` cannot be resumed: its transcript is gone."
        )
        return
    await call.layer.binding.pin(call.surface, call.chat, summary)


@group("new")
async def new(call: CommandCall) -> None:
    await call.layer.binding.start_new(call.surface, call.chat)


@group("cd")
async def cd(call: CommandCall) -> None:
    layer = call.layer
    prefs = await layer.services.db.preferences.get(call.chat)
    if not call.args:
        picker = directory_picker(layer.binding, call.surface, call.chat, prefs)
        layer.services.spawn(picker, call.surface)
        return
    target = layer.services.roots.resolve(call.args, base=layer.binding.directory(prefs))
    await layer.binding.change_directory(call.surface, call.chat, target)


@group("history")
async def history(call: CommandCall) -> None:
    count = int(call.args) if call.args.isdigit() and int(call.args) > 0 else 3
    summary = await call.layer.binding.current(call.chat)
    if summary is None:
        await call.surface.send_text(NO_SESSION_TEXT)
        return
    catalog = call.layer.services.catalog
    messages = await asyncio.to_thread(catalog.preview, summary.session_id, min(count, 20) * 2)
    body = preview_lines(messages, limit=1000) or "(nothing to show yet)"
    await call.surface.send_text(f"**Session** `{short_id(summary.session_id)}`\n\n{body}")


@group("handoff")
async def handoff(call: CommandCall) -> None:
    summary = await call.layer.binding.current(call.chat)
    if summary is None:
        await call.surface.send_text(NO_SESSION_TEXT)
        return
    await call.surface.send_text(handoff_text(summary.session_id, summary.project))
