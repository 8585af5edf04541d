"""A project for the file tests: an image, a text file with a secret, ways out.

The model's side is scripted as Claude Code needs it (reference §19): ToolSearch
loads the deferred ``mcp__baton__send_to_chat`` schema, then the calls follow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.anthropic import FakeAnthropic, Reply, tool_results

SEND_TOOL = "mcp__baton__send_to_chat"
SECRET = "sk-ant-api03-abcdefghijklmnopqrstu"
# A real 2x3 PNG.
PNG_2X3 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000020000000308020000001216f1"
    "4d0000001149444154789c63f8ffff3f03020c0c0c00006f0cf90e14a7a7d3"
    "0000000049454e44ae426082"
)


def make_project_files(project: Path) -> Path:
    """chart.png, notes.txt (holding SECRET), and a link to a file outside; returns
    the outside file."""
    (project / "chart.png").write_bytes(PNG_2X3)
    (project / "notes.txt").write_text(f"results\napi_key={SECRET}\n")
    outside = project.parent / "outside-secret.txt"
    outside.write_text("private\n")
    (project / "sneaky.txt").symlink_to(outside)
    return outside


def script_sends(fake_api: FakeAnthropic, outside: Path, final: str) -> None:
    """ToolSearch, then the image, the text file, a path outside and the link."""
    fake_api.script(
        Reply.tool_use("ToolSearch", {"query": f"select:{SEND_TOOL}", "max_results": 5}),
        Reply.tool_use(SEND_TOOL, {"path": "chart.png", "caption": "the chart"}),
        Reply.tool_use(SEND_TOOL, {"path": "notes.txt"}),
        Reply.tool_use(SEND_TOOL, {"path": str(outside)}),
        Reply.tool_use(SEND_TOOL, {"path": "sneaky.txt"}),
        Reply(text=final),
    )


def send_results(fake_api: FakeAnthropic) -> list[dict[str, Any]]:
    """The tool results the model got back for the send_to_chat calls, in order."""
    found = []
    for request in fake_api.messages_requests():
        for block in tool_results(request):
            if "Sent " in str(block.get("content")) or "Not sent" in str(block.get("content")):
                found.append(block)
    unique: dict[str, dict[str, Any]] = {str(b.get("tool_use_id")): b for b in found}
    return list(unique.values())
