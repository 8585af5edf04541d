"""Buttons and select menus whose meaning lives in the bot, not in discord.py's view cache.

Every component the bot sends carries a short opaque custom id (``baton:c:<key>:<n>``
for a choice, ``baton:s:<key>`` for a Stop button, well under Discord's 100
characters). The ids are matched by :class:`discord.ui.DynamicItem` templates registered
once on the client, so a click is routed here even when the message was sent before a
restart. A key the :class:`ComponentRouter` does not know (the bot restarted, the
question timed out) gets a clear answer instead of Discord's "interaction failed", and
its buttons are taken off the message.

Every click is acknowledged inside Discord's 3 seconds: the gate (authorization) first,
then a single interaction response that also shows the outcome.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord
import structlog
from discord import ui

from chat_adapters.choices import ChoiceAnswer, ChoicePrompt, ChoiceStyle
from chat_adapters.surface import StopCallback

log = structlog.get_logger(__name__)

Gate = Callable[[discord.Interaction[Any], str], Awaitable[bool]]
"""Authorizes a click (``action`` names what it does: ``press:<kind>:<label>``, see
:func:`press_action`). On False the gate has already answered the interaction (an
ephemeral refusal)."""


def press_action(kind: str, label: str) -> str:
    return f"press:{kind}:{label}"


MAX_BUTTONS = 5
"""Up to this many options show as one row of buttons; more become select menus."""
MAX_SELECT_OPTIONS = 25
MAX_ROWS = 5
MAX_OPTIONS = MAX_SELECT_OPTIONS * MAX_ROWS
SELECT_LABEL_LIMIT = 100

STALE_NOTE = "⚠️ This button is no longer active (the bot restarted or the question closed)."
ANSWERED_NOTE = "This question was already answered."
FINISHED_NOTE = "This reply already finished."

_KEY = r"[A-Za-z0-9_-]{1,32}"
CHOICE_TEMPLATE = rf"baton:c:(?P<key>{_KEY}):(?P<index>\d{{1,3}})"
SELECT_TEMPLATE = rf"baton:m:(?P<key>{_KEY}):(?P<group>\d)"
STOP_TEMPLATE = rf"baton:s:(?P<key>{_KEY})"

_STYLES: dict[ChoiceStyle, discord.ButtonStyle] = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "danger": discord.ButtonStyle.danger,
}


def new_key() -> str:
    """12 URL-safe characters: unguessable, so a key is no use outside its message."""
    return secrets.token_urlsafe(9)


@dataclass(eq=False)
class PendingPrompt:
    """One shown :class:`ChoicePrompt` waiting for its answer."""

    key: str
    prompt: ChoicePrompt
    channel_id: int
    settle: Callable[[str], str]
    """Message content once answered, given the note line (what was chosen)."""
    answer: asyncio.Future[ChoiceAnswer]
    answered_by_click: bool = False


@dataclass(eq=False)
class PendingStop:
    key: str
    on_stop: StopCallback
    pressed: bool = False


@dataclass
class ComponentRouter:
    """Where clicks and typed answers find the prompt or live reply they belong to."""

    gate: Gate
    _prompts: dict[str, PendingPrompt] = field(default_factory=dict)
    _typed: dict[int, list[str]] = field(default_factory=dict)
    _stops: dict[str, PendingStop] = field(default_factory=dict)
    _closed: set[str] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # -- the bot's side ----------------------------------------------------------------

    def open_prompt(
        self, prompt: ChoicePrompt, channel_id: int, settle: Callable[[str], str]
    ) -> PendingPrompt:
        future: asyncio.Future[ChoiceAnswer] = asyncio.get_running_loop().create_future()
        pending = PendingPrompt(new_key(), prompt, channel_id, settle, future)
        self._prompts[pending.key] = pending
        if prompt.allows_free_text:
            self._typed.setdefault(channel_id, []).append(pending.key)
        return pending

    def close_prompt(self, pending: PendingPrompt) -> bool:
        """Forget the prompt; False if a click or typed answer already closed it."""
        if self._prompts.pop(pending.key, None) is None:
            return False
        self._forget(pending)
        return True

    def open_stop(self, on_stop: StopCallback) -> str:
        stop = PendingStop(new_key(), on_stop)
        self._stops[stop.key] = stop
        return stop.key

    def close_stop(self, key: str) -> None:
        if self._stops.pop(key, None) is not None:
            self._remember_closed(key)

    def answer_typed(self, channel_id: int, text: str) -> bool:
        """A message typed in ``channel_id`` answers its oldest open free-text prompt."""
        if not text.strip():
            return False
        for key in list(self._typed.get(channel_id, ())):
            pending = self._prompts.pop(key, None)
            if pending is None:
                continue
            self._forget(pending)
            if not pending.answer.done():
                pending.answer.set_result(pending.prompt.free_text_answer(text))
            return True
        return False

    def has_typed_prompt(self, channel_id: int) -> bool:
        return any(key in self._prompts for key in self._typed.get(channel_id, ()))

    def _forget(self, pending: PendingPrompt) -> None:
        keys = self._typed.get(pending.channel_id)
        if keys is not None and pending.key in keys:
            keys.remove(pending.key)
            if not keys:
                del self._typed[pending.channel_id]
        self._remember_closed(pending.key)

    def _remember_closed(self, key: str) -> None:
        self._closed.add(key)
        if len(self._closed) > 4096:  # only needed for clicks racing a close
            self._closed.clear()

    # -- the person's side ---------------------------------------------------------------

    async def on_choice(self, interaction: discord.Interaction[Any], key: str, index: int) -> None:
        pending = self._prompts.get(key)
        if pending is None:
            await self._stale(interaction, key)
            return
        shown = pending.prompt.options
        label = shown[index].label if 0 <= index < len(shown) else str(index)
        if not await self.gate(interaction, press_action(pending.prompt.kind, label)):
            return
        pending = self._prompts.pop(key, None)
        options = pending.prompt.options if pending else ()
        if pending is None or not 0 <= index < len(options):
            await self._stale(interaction, key)
            return
        self._forget(pending)
        option = options[index]
        pending.answered_by_click = True
        note = f"→ {option.label} ({_who(interaction)})"
        try:
            await interaction.response.edit_message(content=pending.settle(note), view=None)
        except discord.HTTPException as exc:
            log.warning("discord.choice_ack_failed", key=key, error=repr(exc))
            pending.answered_by_click = False  # the surface still has to clear the buttons
        if not pending.answer.done():
            pending.answer.set_result(pending.prompt.answer(option.id))

    async def on_select(self, interaction: discord.Interaction[Any], key: str) -> None:
        values = interaction.data.get("values", []) if interaction.data else []
        value = values[0] if isinstance(values, list) and values else ""
        index = int(value) if isinstance(value, str) and value.isdigit() else -1
        await self.on_choice(interaction, key, index)

    async def on_stop(self, interaction: discord.Interaction[Any], key: str) -> None:
        stop = self._stops.get(key)
        if stop is None:
            await self._stale(interaction, key, FINISHED_NOTE)
            return
        if not await self.gate(interaction, press_action("stop", "Stop")):
            return
        first = not stop.pressed
        stop.pressed = True
        try:
            await interaction.response.edit_message(view=stopping_view())
        except discord.HTTPException as exc:
            log.warning("discord.stop_ack_failed", key=key, error=repr(exc))
        if first:
            await stop.on_stop()

    async def _stale(
        self, interaction: discord.Interaction[Any], key: str, closed_note: str = ANSWERED_NOTE
    ) -> None:
        if key in self._closed:
            await interaction.response.send_message(closed_note, ephemeral=True)
            return
        message = interaction.message
        content = message.content if message is not None else ""
        note = f"-# {STALE_NOTE}"
        if content and len(content) + 2 + len(note) <= 2000:
            content = f"{content}\n\n{note}"
        log.info("discord.stale_component", key=key)
        if content:
            await interaction.response.edit_message(content=content, view=None)
        else:
            await interaction.response.edit_message(view=None)
            await interaction.followup.send(STALE_NOTE, ephemeral=True)


def router_of(client: discord.Client) -> ComponentRouter | None:
    router = getattr(client, "baton_components", None)
    return router if isinstance(router, ComponentRouter) else None


def _who(interaction: discord.Interaction[Any]) -> str:
    return discord.utils.escape_markdown(interaction.user.display_name)


# -- the components ----------------------------------------------------------------------


class ChoiceButton(
    ui.DynamicItem[ui.Button[ui.View]],
    template=CHOICE_TEMPLATE,
):
    def __init__(
        self, key: str, index: int, label: str = "…", style: ChoiceStyle = "secondary"
    ) -> None:
        super().__init__(
            ui.Button(label=label, style=_STYLES[style], custom_id=f"baton:c:{key}:{index}")
        )
        self.key, self.index = key, index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: ui.Item[Any], match: re.Match[str], /
    ) -> ChoiceButton:
        return cls(match["key"], int(match["index"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _route(
            interaction, lambda router: router.on_choice(interaction, self.key, self.index)
        )


class ChoiceSelect(
    ui.DynamicItem[ui.Select[ui.View]],
    template=SELECT_TEMPLATE,
):
    def __init__(
        self, key: str, group: int, options: list[discord.SelectOption] | None = None
    ) -> None:
        super().__init__(
            ui.Select(
                custom_id=f"baton:m:{key}:{group}",
                options=options or [discord.SelectOption(label="…", value="0")],
                placeholder="Choose…",
            )
        )
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: ui.Item[Any], match: re.Match[str], /
    ) -> ChoiceSelect:
        return cls(match["key"], int(match["group"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _route(interaction, lambda router: router.on_select(interaction, self.key))


class StopButton(
    ui.DynamicItem[ui.Button[ui.View]],
    template=STOP_TEMPLATE,
):
    def __init__(self, key: str) -> None:
        super().__init__(
            ui.Button(label="Stop", style=discord.ButtonStyle.danger, custom_id=f"baton:s:{key}")
        )
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: ui.Item[Any], match: re.Match[str], /
    ) -> StopButton:
        return cls(match["key"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _route(interaction, lambda router: router.on_stop(interaction, self.key))


DYNAMIC_ITEMS: tuple[type[ui.DynamicItem[Any]], ...] = (ChoiceButton, ChoiceSelect, StopButton)
"""Register with ``client.add_dynamic_items(*DYNAMIC_ITEMS)``."""


async def _route(
    interaction: discord.Interaction[Any],
    handle: Callable[[ComponentRouter], Awaitable[None]],
) -> None:
    router = router_of(interaction.client)
    if router is None:
        await interaction.response.send_message(STALE_NOTE, ephemeral=True)
        return
    await handle(router)


def choice_view(prompt: ChoicePrompt, key: str) -> ui.View:
    """Buttons for up to five options, otherwise select menus of up to 25 options each."""
    options = prompt.options
    if len(options) > MAX_OPTIONS:
        raise ValueError(
            f"choice prompt {prompt.title!r} has {len(options)} options; "
            f"Discord can show at most {MAX_OPTIONS}"
        )
    view = ui.View(timeout=None)
    if len(options) <= MAX_BUTTONS:
        for index, option in enumerate(options):
            view.add_item(ChoiceButton(key, index, option.label, option.style))
        return view
    for group in range(0, len(options), MAX_SELECT_OPTIONS):
        select_options = [
            discord.SelectOption(label=option.label[:SELECT_LABEL_LIMIT], value=str(index))
            for index, option in enumerate(options[group : group + MAX_SELECT_OPTIONS], group)
        ]
        view.add_item(ChoiceSelect(key, group // MAX_SELECT_OPTIONS, select_options))
    return view


def stop_view(key: str) -> ui.View:
    view = ui.View(timeout=None)
    view.add_item(StopButton(key))
    return view


def stopping_view() -> ui.View:
    """What the Stop button turns into once pressed: a disabled "Stopping…"."""
    view = ui.View(timeout=None)
    view.add_item(
        ui.Button(
            label="Stopping…",
            style=discord.ButtonStyle.secondary,
            custom_id="baton:stopping",
            disabled=True,
        )
    )
    return view
