"""How a Discord component carries its key, and how a click is answered.

Every component the bot sends carries a short opaque custom id (``baton:c:<key>:<n>``
for a choice, ``baton:s:<key>`` for a Stop button, well under Discord's 100
characters). The ids are matched by :class:`discord.ui.DynamicItem` templates registered
once on the client, so a click is routed even when the message was sent before a
restart. What a key means is :mod:`chat_adapters.interactions`' job (the same for
every app); a key it does not know (the bot restarted, the question timed out) gets a
clear answer instead of Discord's "interaction failed", and its buttons go.

Every click is acknowledged inside Discord's 3 seconds with a single interaction
response that also shows the outcome (a refusal is ephemeral, for the presser alone).
"""

from __future__ import annotations

import re
from typing import Any

import discord
import structlog
from discord import ui

from chat_adapters.choices import ChoicePrompt, ChoiceStyle
from chat_adapters.discord.rendering import MESSAGE_LIMIT, chat_of, compose, press_chat
from chat_adapters.interactions import EXPIRED, Interactions, Presser, PressReply

log = structlog.get_logger(__name__)

MAX_BUTTONS = 5
"""Up to this many options show as one row of buttons; more become select menus."""
MAX_SELECT_OPTIONS = 25
MAX_ROWS = 5
MAX_OPTIONS = MAX_SELECT_OPTIONS * MAX_ROWS
SELECT_LABEL_LIMIT = 100

_KEY = r"[A-Za-z0-9_-]{1,32}"
CHOICE_TEMPLATE = rf"baton:c:(?P<key>{_KEY}):(?P<index>\d{{1,3}})"
SELECT_TEMPLATE = rf"baton:m:(?P<key>{_KEY}):(?P<group>\d)"
STOP_TEMPLATE = rf"baton:s:(?P<key>{_KEY})"

_STYLES: dict[ChoiceStyle, discord.ButtonStyle] = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "danger": discord.ButtonStyle.danger,
}


def interactions_of(client: discord.Client) -> Interactions | None:
    found = getattr(client, "interactions", None)
    return found if isinstance(found, Interactions) else None


async def on_press(
    interaction: discord.Interaction[Any], key: str, suffix: str, *, stop: bool = False
) -> None:
    """A click on one of the bot's components: asked of the interactions registry, then
    answered inside Discord's 3 seconds with a single response that shows the outcome."""
    interactions = interactions_of(interaction.client)
    if interactions is None:
        await interaction.response.send_message(EXPIRED, ephemeral=True)
        return
    user = interaction.user
    presser = Presser(str(user.id), user.display_name)
    reply = await interactions.press(key, suffix, press_chat(chat_of(interaction.channel)), presser)
    try:
        await _answer(interaction, reply, stop=stop)
    except discord.HTTPException as exc:
        log.warning("discord.press_ack_failed", key=key, error=repr(exc))
    if reply.then is not None:
        await reply.then()


async def _answer(interaction: discord.Interaction[Any], reply: PressReply, *, stop: bool) -> None:
    message = interaction.message
    content = message.content if message is not None else ""
    if reply.chosen is not None:
        note = f"→ {reply.chosen} ({discord.utils.escape_markdown(interaction.user.display_name)})"
        await interaction.response.edit_message(content=compose(content, (note,)), view=None)
    elif reply.remove_buttons:
        log.info("discord.stale_component", note=reply.text)
        note = f"-# {reply.text}"
        if content and len(content) + 2 + len(note) <= MESSAGE_LIMIT:
            await interaction.response.edit_message(content=f"{content}\n\n{note}", view=None)
        else:
            await interaction.response.edit_message(view=None)
            await interaction.followup.send(reply.text, ephemeral=True)
    elif stop and reply.then is not None:
        await interaction.response.edit_message(view=stopping_view())
    else:
        await interaction.response.send_message(reply.text, ephemeral=True)


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
        await on_press(interaction, self.key, str(self.index))


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
        values = interaction.data.get("values", []) if interaction.data else []
        value = values[0] if isinstance(values, list) and values else ""
        await on_press(interaction, self.key, value if isinstance(value, str) else "")


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
        await on_press(interaction, self.key, "", stop=True)


DYNAMIC_ITEMS: tuple[type[ui.DynamicItem[Any]], ...] = (ChoiceButton, ChoiceSelect, StopButton)
"""Register with ``client.add_dynamic_items(*DYNAMIC_ITEMS)``."""


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
