"""A Write approval on Telegram shows the proposed change, from the SDK's callback, through the
real Claude Code CLI (the seam); the /diff tests run on scripted turns in ``test_diff.py``."""

from __future__ import annotations

from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, say
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.telegram_api import FakeTelegram

SECRET = "sk-ant-api03-abcdefghijklmnopqrstu"


async def test_write_approval_shows_the_change(
    tg: FakeTelegram, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    target = cli_env.project / "notes.md"
    fake_api.script(
        Reply.tool_use("Write", {"file_path": str(target), "content": "first line\nsecond\n"}),
        Reply(text="written"),
    )
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
    assert target.read_text() == "first line\nsecond\n"
