"""Which permission mode a chat's turns run in: the chat's choice (``/mode``) within
what this run of the bot allows; a refused bypass is said once per chat and run."""

from __future__ import annotations

from chat_adapters.chat_services import ChatPolicy, ChatServices
from chat_adapters.surface import Surface
from session_core.permission_modes import EffectiveMode, effective_mode
from session_core.vocabulary import PermissionMode
from storage import ChatKey, ChatPreferences

BYPASS_OFF_TEXT = "BATON_ALLOW_BYPASS is off"
MODE_NAMES: dict[str, PermissionMode] = {
    "default": "default",
    "acceptedits": "acceptEdits",
    "plan": "plan",
}
"""What ``/mode`` accepts (casefolded) besides bypass, and the mode each names."""


def chat_mode(policy: ChatPolicy, prefs: ChatPreferences) -> EffectiveMode:
    """The mode a chat's turns run in: its ``/mode`` within what this run allows."""
    return effective_mode(
        prefs.permission_mode, policy.permission_mode, allow_bypass=policy.allow_bypass
    )


class ChatModes:
    def __init__(self, services: ChatServices) -> None:
        self._services = services
        self._told_bypass_off: set[ChatKey] = set()

    def effective(self, prefs: ChatPreferences) -> EffectiveMode:
        return chat_mode(self._services.policy, prefs)

    def text(self, prefs: ChatPreferences) -> str:
        effective = self.effective(prefs)
        if effective.bypass_refused:
            return f"{effective.mode} ({BYPASS_OFF_TEXT})"
        return effective.mode

    async def for_turn(
        self, surface: Surface, chat: ChatKey, prefs: ChatPreferences
    ) -> PermissionMode:
        """This turn's mode; a refused bypass is told once per chat and run."""
        effective = self.effective(prefs)
        if effective.bypass_refused and chat not in self._told_bypass_off:
            self._told_bypass_off.add(chat)
            await surface.send_text(
                f"⚠️ This chat chose bypass, but {BYPASS_OFF_TEXT}: "
                f"turns run in {effective.mode} mode."
            )
        return effective.mode
