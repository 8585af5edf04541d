"""/diff and the approval's change preview on Telegram, with a real git repository;
scripted turns (the subject is the chat)."""

from __future__ import annotations

from session_core.events import TextDelta
from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, say
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.git_repo import make_repo
from tests.fakes.scripted_runner import Ask, ScriptedRunner, ScriptedTurn
from tests.fakes.telegram_api import FakeTelegram

SECRET = "sk-ant-api03-abcdefghijklmnopqrstu"


async def test_diff_outside_a_repo_then_short_then_long(
    tg: FakeTelegram, scripted_baton: Baton, claude_env: ClaudeEnv
) -> None:
    project = claude_env.project
    sent = say(tg, "/diff")
    await answer(tg, "not inside a git repository", after=sent)

    make_repo(project, {"app.py": "a = 1\nb = 2\n", "big.txt": "x\n"})
    (project / "app.py").write_text(f"a = 1\nb = 3\ntoken = '{SECRET}'\n")
    (project / "new.txt").write_text("hello\n")
    sent = say(tg, "/diff")
    shown = await answer(tg, "changed files", after=sent)
    assert "M app.py +2 −1" in shown.body and "?? new.txt" in shown.body
    assert any("+b = 3" in code for code in shown.entity_texts("pre"))
    assert SECRET not in shown.body and "[REDACTED]" in shown.body

    (project / "big.txt").write_text("".join(f"line {n}\n" for n in range(400)))
    sent = say(tg, "/diff")
    await answer(tg, "attached", after=sent)
    document = await tg.wait_for_message(
        USER, after=sent.message_id, match=lambda m: m.document is not None, timeout=WAIT_S
    )
    assert document.document is not None and document.document.file_name == "proj.diff"
    data = document.document.data.decode()
    assert "+line 399" in data and SECRET not in data


async def write_approval_shows_the_change(tg: FakeTelegram) -> None:
    """ "write notes" asks to Write notes.md: the question shows the diff; Allow once."""
    sent = say(tg, "write notes")
    asked = await tg.wait_for_message(
        USER,
        after=sent.message_id,
        match=lambda m: "Allow Write?" in m.body and bool(m.buttons),
        timeout=WAIT_S,
    )
    assert "Change:" in asked.body
    assert any(
        "+first line" in code and "+++ b/notes.md" in code for code in asked.entity_texts("pre")
    )
    tg.press_button(asked, label="Allow once", user_id=USER)
    await answer(tg, "written", after=sent)


async def test_write_approval_shows_the_change(
    tg: FakeTelegram, scripted_baton: Baton, claude_env: ClaudeEnv, scripted_runner: ScriptedRunner
) -> None:
    target = claude_env.project / "notes.md"
    write = Ask("Write", {"file_path": str(target), "content": "first line\nsecond\n"})
    scripted_runner.script(ScriptedTurn((write, TextDelta("written"))))
    await write_approval_shows_the_change(tg)
    assert [d.allow for d in scripted_runner.decisions] == [True], "allowed: the CLI writes it"


async def test_write_approval_shows_the_change_through_the_real_cli(
    tg: FakeTelegram, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    target = cli_env.project / "notes.md"
    fake_api.script(
        Reply.tool_use("Write", {"file_path": str(target), "content": "first line\nsecond\n"}),
        Reply(text="written"),
    )
    await write_approval_shows_the_change(tg)
    assert target.read_text() == "first line\nsecond\n"
