"""The permission mode a turn runs in, decided when the turn starts.

A chat's stored choice is only a wish: the operator's settings of *this* run decide
whether it may be granted. Computing the mode for every turn (rather than trusting what
was stored when bypass was allowed) means switching ``BATON_ALLOW_BYPASS`` off takes
effect at the next turn of every chat.
"""

from __future__ import annotations

from dataclasses import dataclass

from session_core.vocabulary import BYPASS, PERMISSION_MODES, PermissionMode


@dataclass(frozen=True, slots=True)
class EffectiveMode:
    """The mode a turn runs in, and whether a wish for bypass was turned down."""

    mode: PermissionMode
    bypass_refused: bool = False


def effective_mode(
    chosen: str | None, operator_default: str | None, *, allow_bypass: bool
) -> EffectiveMode:
    """The chat's choice (else the operator's default), with bypass only when allowed.

    Unknown names run as ``default``: an odd stored value never widens what runs.
    """
    wanted = chosen or operator_default or "default"
    mode: PermissionMode = next((m for m in PERMISSION_MODES if m == wanted), "default")
    if mode == BYPASS and not allow_bypass:
        return EffectiveMode("default", bypass_refused=True)
    return EffectiveMode(mode)
