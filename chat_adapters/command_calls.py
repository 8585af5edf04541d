"""How a chat command reaches its handler: each handler is attached to its
:class:`~chat_adapters.commands.CommandSpec` by name where it is written
(``@group("status")``), and :func:`handler_table` refuses a table in which a spec has
no handler or a handler no spec, so the command list, the Telegram menu, Discord's
slash commands and the handlers cannot drift apart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from chat_adapters.binding import Binding
from chat_adapters.chat_input import Sender
from chat_adapters.chat_lines import ChatLines
from chat_adapters.chat_modes import ChatModes
from chat_adapters.chat_services import ChatServices
from chat_adapters.claude_commands import ClaudeCommandBridge
from chat_adapters.commands import COMMANDS, COMMANDS_BY_NAME, CommandSpec
from chat_adapters.surface import Surface
from storage import ChatKey


@dataclass(frozen=True, slots=True)
class CommandLayer:
    """The parts of the command layer a handler may use."""

    services: ChatServices
    binding: Binding
    modes: ChatModes
    lines: ChatLines
    claude: ClaudeCommandBridge


@dataclass(frozen=True, slots=True)
class CommandCall:
    """One command as a person sent it (``args`` stripped)."""

    layer: CommandLayer
    surface: Surface
    chat: ChatKey
    sender: Sender
    args: str


Handler = Callable[[CommandCall], Awaitable[None]]


class CommandGroup:
    """The handlers of one module, each registered under the name of its spec."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def __call__(self, name: str) -> Callable[[Handler], Handler]:
        spec = COMMANDS_BY_NAME.get(name)
        if spec is None or spec.app_handles or name in self.handlers:
            raise ValueError(f"/{name}: no spec the dispatcher handles, or a second handler")

        def register(handler: Handler) -> Handler:
            self.handlers[name] = handler
            return handler

        return register


def handler_table(
    groups: Iterable[CommandGroup], specs: Iterable[CommandSpec] = COMMANDS
) -> Mapping[str, Handler]:
    """Every spec's handler, by name; raises when one is missing, doubled or spare."""
    table: dict[str, Handler] = {}
    for group in groups:
        for name, handler in group.handlers.items():
            if name in table:
                raise ValueError(f"/{name} has two handlers")
            table[name] = handler
    wanted = {spec.name for spec in specs if not spec.app_handles}
    missing, spare = wanted - table.keys(), table.keys() - wanted
    if missing or spare:
        raise ValueError(f"commands without a handler: {sorted(missing)}; spare: {sorted(spare)}")
    return table
