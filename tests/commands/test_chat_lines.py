"""A chat's line through the shared command layer over the ScriptedRunner: prompts run
in the order sent and are acknowledged while they wait, /stop interrupts, strangers
never reach Claude, long tool output arrives as a file, attachments are spooled."""

from __future__ import annotations

import re
from pathlib import Path

from chat_adapters.chat_input import Attachment
from chat_adapters.dispatch import ChatDispatcher
from session_core.claude_home import ClaudeHome
from session_core.events import TextDelta, ToolFinished, ToolStarted
from storage import Database
from tests.e2e.test_dispatch import ALICE, CHAT, MALLORY, UNPACED, seen, shows, until
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.memory_surface import MemorySurface
from tests.fakes.scripted_runner import Hold, Pause, ScriptedRunner, ScriptedTurn, scripted_session


async def test_new_then_burst_runs_in_order_and_acknowledges(
    scripted: ChatDispatcher,
    scripted_runner: ScriptedRunner,
    claude_env: ClaudeEnv,
    claude_home: ClaudeHome,
) -> None:
    old = scripted_session(claude_home, claude_env.project, "old session")
    surface = MemorySurface(UNPACED)
    await scripted.on_command(surface, CHAT, ALICE, "new", "")
    assert "next message starts a new session" in seen(surface)
    scripted_runner.script(ScriptedTurn((TextDelta("tick"), Pause(0.1), TextDelta(" first"))))
    await scripted.on_text(surface, CHAT, ALICE, "first")
    for word in ("second", "third"):
        await scripted.on_text(surface, CHAT, ALICE, word)
    await until(lambda: seen(surface).count("Queued") == 2, "both acknowledged")
    await until(shows(surface, "to: third"), "all three answered")
    transcript = seen(surface)
    assert transcript.index("to: second") < transcript.index("to: third")
    assert [c.prompt for c in scripted_runner.calls] == ["first", "second", "third"]
    assert scripted_runner.calls[0].force_new
    new = scripted_runner.started[0]
    assert [c.session_id for c in scripted_runner.calls[1:]] == [new, new]
    assert old not in scripted_runner.started


async def test_stop_interrupts_the_running_turn(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner
) -> None:
    scripted_runner.script(ScriptedTurn((TextDelta("tick "), Hold())))
    surface = MemorySurface(UNPACED)
    await scripted.on_text(surface, CHAT, ALICE, "go")
    await until(shows(surface, "tick"), "streaming started")
    await scripted.on_command(surface, CHAT, ALICE, "stop", "")
    await until(shows(surface, "Interrupted"), "interrupted line")
    assert "Stopping the running turn" in seen(surface)
    assert scripted_runner.interrupts == scripted_runner.started


async def test_unauthorized_user_is_audited_and_never_reaches_claude(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner, database: Database
) -> None:
    surface = MemorySurface(UNPACED)
    assert not await scripted.authorize(MALLORY, CHAT, "text")
    await scripted.on_text(surface, CHAT, MALLORY, "rm -rf everything")
    await scripted.on_command(surface, CHAT, MALLORY, "status", "")
    assert not scripted.has_work(CHAT) and surface.messages == []
    assert scripted_runner.calls == []
    assert await scripted.audit.flush()
    assert await database.audit.count(allowed=False) == 1


async def test_long_tool_output_arrives_as_a_file_at_verbosity_2(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner
) -> None:
    log = "".join(f"line {i} of the log\n" for i in range(400))
    scripted_runner.script(
        ScriptedTurn(
            (
                ToolStarted("toolu_0123456789", "Read", {"file_path": "big.txt"}),
                ToolFinished("toolu_0123456789", "Read", is_error=False, output=log),
                TextDelta("read it"),
            )
        )
    )
    surface = MemorySurface(UNPACED)
    await scripted.on_command(surface, CHAT, ALICE, "verbose", "2")
    await scripted.on_text(surface, CHAT, ALICE, "read the log")
    await until(shows(surface, "read it"), "the answer")
    await until(lambda: any(m.file_name for m in surface.messages), "the attached output")
    attached = next(m for m in surface.messages if m.file_name)
    assert attached.file_name is not None and attached.file_name.startswith("Read-")
    assert attached.file_data is not None and b"line 399 of the log" in attached.file_data


async def test_photos_go_as_images_and_files_as_paths_in_the_inbox(
    scripted: ChatDispatcher, scripted_runner: ScriptedRunner, tmp_path: Path
) -> None:
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
    surface = MemorySurface(UNPACED)
    await scripted.on_text(
        surface,
        CHAT,
        ALICE,
        "what is this?",
        [
            Attachment("image", "photo.png", png, "image/png"),
            Attachment("document", "../notes.md", b"# Notes\n", "text/markdown"),
        ],
    )
    await until(shows(surface, "SCRIPTED-REPLY"), "the answer")
    call = scripted_runner.calls[-1]
    assert [(i.media_type, i.data) for i in call.images] == [("image/png", png)]
    assert call.prompt.startswith("what is this?")
    saved = re.search(r"saved at (\S+) \(text/markdown\)", call.prompt)
    assert saved is not None
    assert Path(saved.group(1)).parent == tmp_path / "inbox"
    assert Path(saved.group(1)).read_bytes() == b"# Notes\n"
