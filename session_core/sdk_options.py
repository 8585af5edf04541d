"""``ClaudeAgentOptions`` for a turn, so a chat turn behaves like the terminal.

The Claude Code system prompt, user/project/local settings (CLAUDE.md, MCP, skills),
partial messages for streaming, our entrypoint, and a CLI that dies with this process.
One of the three SDK-boundary modules allowed to import ``claude_agent_sdk``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from claude_agent_sdk import CanUseTool, ClaudeAgentOptions, SettingSource
from claude_agent_sdk.types import McpSdkServerConfig, SystemPromptPreset

from session_core.chat_tools import SEND_TO_CHAT_TOOL, SERVER_NAME
from session_core.child_guard import guarded_cli_path, parent_env
from session_core.claude_cli import bundled_cli_path
from session_core.permission_modes import effective_mode
from session_core.sdk_values import TurnOptions
from session_core.vocabulary import BYPASS, ENTRYPOINT

SETTING_SOURCES: tuple[SettingSource, ...] = ("user", "project", "local")
_SYSTEM_PROMPT: SystemPromptPreset = {"type": "preset", "preset": "claude_code"}


def build_options(
    turn: TurnOptions,
    *,
    can_use_tool: CanUseTool | None = None,
    stderr: Callable[[str], None] | None = None,
    chat_server: McpSdkServerConfig | None = None,
) -> ClaudeAgentOptions:
    """``ClaudeAgentOptions`` for one connection: partial messages on, our entrypoint,
    a CLI that dies with this process (``child_guard``)."""
    env = {**turn.env, "CLAUDE_CODE_ENTRYPOINT": ENTRYPOINT, **parent_env()}
    env.pop("IS_SANDBOX", None)
    mode = effective_mode(turn.permission_mode, None, allow_bypass=turn.bypass_allowed).mode
    if mode == BYPASS and _is_root():
        # The CLI refuses to skip permissions as root unless told it is sandboxed;
        # the operator allowed bypass explicitly (BATON_ALLOW_BYPASS).
        env["IS_SANDBOX"] = "1"
    return ClaudeAgentOptions(
        cwd=turn.cwd,
        env=env,
        resume=turn.resume,
        session_id=turn.session_id,
        fork_session=turn.fork_session,
        model=turn.model,
        max_turns=turn.max_turns,
        max_budget_usd=turn.max_budget_usd,
        include_partial_messages=True,
        setting_sources=list(SETTING_SOURCES),
        system_prompt=_SYSTEM_PROMPT,
        can_use_tool=can_use_tool,
        stderr=stderr,
        permission_mode=mode if turn.permission_mode is not None else None,
        cli_path=_guarded(turn.cli_path),
        mcp_servers={SERVER_NAME: chat_server} if chat_server is not None else {},
        # Our own tool confines itself: pre-allowed (in the callback when there is one,
        # since an allowed_tools entry would shadow it).
        allowed_tools=[SEND_TO_CHAT_TOOL] if chat_server and can_use_tool is None else [],
    )


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _guarded(cli: str | None) -> Path | str | None:
    """The chosen CLI (None: the SDK's bundled one) behind the parent-death launcher."""
    target = Path(cli) if cli else bundled_cli_path()
    return guarded_cli_path(target) or cli
