"""The commands that reach into the chat's directory or its Claude Code: /diff, /get,
/cc (Discord's door to Claude Code's own commands) and /context."""

from __future__ import annotations

from chat_adapters.command_calls import CommandCall, CommandGroup
from chat_adapters.diff_view import show_diff
from chat_adapters.file_fetch import fetch

group = CommandGroup()


@group("diff")
async def diff(call: CommandCall) -> None:
    layer = call.layer
    directory = await layer.binding.chat_directory(call.chat)
    await show_diff(call.surface, layer.services.roots.check(directory), layer.services.redactor)


@group("get")
async def get(call: CommandCall) -> None:
    layer = call.layer
    directory = layer.services.roots.check(await layer.binding.chat_directory(call.chat))
    await fetch(call.surface, directory, call.args, layer.services.redactor)


@group("cc")
async def cc(call: CommandCall) -> None:
    layer = call.layer
    directory = await layer.binding.chat_directory(call.chat)
    prompt = await layer.claude.cc(call.surface, directory, call.args)
    if prompt:
        await layer.lines.submit(call.surface, call.chat, call.sender, prompt)


@group("context")
async def context(call: CommandCall) -> None:
    layer = call.layer
    summary = await layer.binding.current(call.chat)
    directory = await layer.binding.chat_directory(call.chat)
    await layer.claude.context(call.surface, directory, summary.session_id if summary else None)
