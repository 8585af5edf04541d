"""A project with its own Claude Code command, for the command-forwarding tests."""

from __future__ import annotations

from pathlib import Path

DEPLOY_BODY = "Deploy the service to the environment named: $ARGUMENTS"


def add_deploy_command(project: Path) -> None:
    """``.claude/commands/deploy.md``: the CLI lists ``deploy`` and expands ``/deploy x``."""
    commands = project / ".claude" / "commands"
    commands.mkdir(parents=True, exist_ok=True)
    (commands / "deploy.md").write_text(
        f"---\ndescription: Deploy the service\nargument-hint: <environment>\n---\n{DEPLOY_BODY}\n"
    )
