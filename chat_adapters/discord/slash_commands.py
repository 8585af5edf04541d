"""Slash commands built from the single command list (:mod:`chat_adapters.commands`).

Each :class:`~chat_adapters.commands.CommandSpec` becomes an ``app_commands.Command``
with one typed string parameter per option, its description, its fixed choices and
its autocomplete, so the list, the menu and the handlers cannot drift.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Optional

import discord
from discord import app_commands

from chat_adapters.commands import CommandSpec, Completion

MAX_CHOICES = 25
CHOICE_LIMIT = 100


def autocomplete_choices(found: Sequence[tuple[str, str]]) -> list[app_commands.Choice[str]]:
    """At most 25 choices; a value Discord cannot carry (over 100 characters) is left
    out rather than cut into a different value."""
    choices: list[app_commands.Choice[str]] = []
    for label, value in found:
        if not value or len(value) > CHOICE_LIMIT:
            continue
        name = " ".join(label.split())
        if len(name) > CHOICE_LIMIT:
            name = name[: CHOICE_LIMIT - 1] + "…"
        choices.append(app_commands.Choice(name=name or value, value=value))
        if len(choices) == MAX_CHOICES:
            break
    return choices


CommandHandler = Callable[[discord.Interaction[Any], CommandSpec, dict[str, Any]], Awaitable[None]]
Completer = Callable[
    [discord.Interaction[Any], Completion, str], Awaitable[list[app_commands.Choice[str]]]
]


def build_command(
    spec: CommandSpec, handle: CommandHandler, complete: Completer
) -> app_commands.Command[Any, ..., None]:
    """A slash command for ``spec``: one typed string parameter per option (required or
    defaulting to None), its description, its fixed choices, its autocomplete."""

    async def callback(interaction: discord.Interaction[Any], **options: Any) -> None:
        await handle(interaction, spec, options)

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for option in spec.options:
        parameters.append(
            inspect.Parameter(
                option.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=str if option.required else Optional[str],  # noqa: UP045
                default=inspect.Parameter.empty if option.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    decorated: Any = callback
    if spec.options:
        decorated = app_commands.describe(**{o.name: o.description for o in spec.options})(
            decorated
        )
    with_choices = {
        o.name: [app_commands.Choice(name=c, value=c) for c in o.choices]
        for o in spec.options
        if o.choices
    }
    if with_choices:
        decorated = app_commands.choices(**with_choices)(decorated)
    completions = {o.name: _completer(complete, o.completion) for o in spec.options if o.completion}
    if completions:
        decorated = app_commands.autocomplete(**completions)(decorated)
    return app_commands.Command(name=spec.name, description=spec.description, callback=decorated)


def _completer(
    complete: Completer, option: Completion
) -> Callable[[discord.Interaction[Any], str], Coroutine[Any, Any, list[app_commands.Choice[str]]]]:
    async def autocomplete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await complete(interaction, option, current)

    return autocomplete
