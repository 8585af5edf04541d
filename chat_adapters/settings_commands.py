"""The commands about how a chat's turns run: /status, /stop, /model, /verbose and
/mode."""

from __future__ import annotations

from chat_adapters.chat_modes import BYPASS_OFF_TEXT, MODE_NAMES
from chat_adapters.command_calls import CommandCall, CommandGroup
from session_core.vocabulary import BYPASS, PermissionMode

group = CommandGroup()

DEFAULT_MODEL = "Claude Code default"


@group("status")
async def status(call: CommandCall) -> None:
    layer, chat = call.layer, call.chat
    s = layer.services
    prefs = await s.db.preferences.get(chat)
    line = layer.lines.get(chat)
    running = "running" if line and line.running else "idle"
    queued = line.queue.qsize() if line else 0
    where = await layer.binding.where(prefs)
    session_id = (
        (line.session_id if line else None) or prefs.pinned_session_id or prefs.last_seen_session_id
    )
    cost = await s.db.usage.session_cost(session_id) if session_id else 0.0
    today = await s.db.usage.cost_today()
    verbosity = prefs.verbosity if prefs.verbosity is not None else s.policy.verbosity
    lines = [
        where,
        f"State: {running}" + (f", {queued} queued" if queued else ""),
        f"Model: {prefs.model or s.policy.model or DEFAULT_MODEL}",
        f"Verbosity: {verbosity} · Mode: {layer.modes.text(prefs)}",
        f"Cost: ${cost:.4f} this session · ${today:.4f} today",
    ]
    if s.policy.claude_code:
        lines.append(f"Claude Code: {s.policy.claude_code}")
    await call.surface.send_text("\n".join(lines))


@group("stop")
async def stop(call: CommandCall) -> None:
    lines, surface = call.layer.lines, call.surface
    dropped = await lines.drop_queued(call.chat)
    plural = "s" if dropped != 1 else ""
    line = lines.get(call.chat)
    if line is not None and line.waiting is not None:
        line.waiting.cancel()  # nothing reached Claude yet: it leaves the line
        extra = f" and dropped {dropped} queued message{plural}" if dropped else ""
        await surface.send_text(
            f"⏹ Stopped the message waiting for a free slot{extra}: nothing was sent to Claude."
        )
        return
    if line is None or not line.running or not line.session_id:
        extra = f"; dropped {dropped} queued message{plural}" if dropped else ""
        await surface.send_text(f"Nothing is running{extra}.")
        return
    await call.layer.services.runner.interrupt(line.session_id)
    extra = f" and dropped {dropped} queued message{plural}" if dropped else ""
    await surface.send_text(f"⏹ Stopping the running turn{extra}.")


@group("model")
async def model(call: CommandCall) -> None:
    s = call.layer.services
    if not call.args:
        prefs = await s.db.preferences.get(call.chat)
        await call.surface.send_text(
            f"Model: {prefs.model or s.policy.model or DEFAULT_MODEL}. "
            "Set one with /model <name>, or /model default."
        )
        return
    chosen = None if call.args.casefold() == "default" else call.args.split()[0]
    await s.db.preferences.update(call.chat, model=chosen)
    await call.surface.send_text(f"Model: {chosen or DEFAULT_MODEL}")


@group("verbose")
async def verbose(call: CommandCall) -> None:
    s = call.layer.services
    if call.args not in ("0", "1", "2"):
        prefs = await s.db.preferences.get(call.chat)
        level = prefs.verbosity if prefs.verbosity is not None else s.policy.verbosity
        await call.surface.send_text(
            f"Verbosity: {level}. Use /verbose 0 (text only), 1 (tool names) or 2 (tool details)."
        )
        return
    await s.db.preferences.update(call.chat, verbosity=int(call.args))
    await call.surface.send_text(f"Verbosity: {call.args}")


@group("mode")
async def mode(call: CommandCall) -> None:
    s = call.layer.services
    wanted = call.args.casefold()
    chosen: PermissionMode
    if wanted in ("bypass", "bypasspermissions"):
        if not s.policy.allow_bypass:
            await call.surface.send_text(f"bypass is disabled here ({BYPASS_OFF_TEXT}).")
            return
        chosen = BYPASS
    elif wanted in MODE_NAMES:
        chosen = MODE_NAMES[wanted]
    else:
        prefs = await s.db.preferences.get(call.chat)
        await call.surface.send_text(
            f"Mode: {call.layer.modes.text(prefs)}. "
            "Use /mode default | acceptEdits | plan | bypass."
        )
        return
    await s.db.preferences.update(call.chat, permission_mode=chosen)
    await call.surface.send_text(f"Mode: {chosen}")
