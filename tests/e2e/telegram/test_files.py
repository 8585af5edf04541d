"""Files back to Telegram: Claude's send_to_chat tool and /get, confined to the
chat's directory and redacted. The tool keeps the real CLI (the seam: Claude Code calls
baton's MCP tool); /get runs no turn."""

from __future__ import annotations

from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, say
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.chat_files import (
    PNG_2X3,
    SECRET,
    make_project_files,
    script_sends,
    send_results,
)
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.telegram_api import FakeTelegram


async def test_claude_sends_a_photo_and_a_document_and_is_refused_outside(
    tg: FakeTelegram, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    outside = make_project_files(cli_env.project)
    script_sends(fake_api, outside, "all sent")
    sent = say(tg, "send me the chart and notes")
    await answer(tg, "all sent", after=sent)

    photo = await tg.wait_for_message(
        USER, after=sent.message_id, match=lambda m: m.photo is not None, timeout=WAIT_S
    )
    assert photo.photo is not None and photo.photo.data == PNG_2X3
    assert photo.caption == "the chart"
    document = await tg.wait_for_message(
        USER, after=sent.message_id, match=lambda m: m.document is not None, timeout=WAIT_S
    )
    assert document.document is not None and document.document.file_name == "notes.txt"
    assert SECRET not in document.document.data.decode()
    assert "results" in document.document.data.decode()
    assert not any(
        m.document is not None and m.document.file_name in ("outside-secret.txt", "sneaky.txt")
        for m in tg.sent_messages(USER)
    )

    results = send_results(fake_api)
    assert len(results) == 4
    assert "as a photo" in str(results[0]["content"]) and not results[0].get("is_error")
    assert "as a document" in str(results[1]["content"])
    for refused in results[2:]:
        assert refused.get("is_error") is True
        assert "outside the session's directory" in str(refused["content"])


async def test_get_fetches_a_file_and_refuses_outside(
    tg: FakeTelegram, scripted_baton: Baton, claude_env: ClaudeEnv
) -> None:
    make_project_files(claude_env.project)
    sent = say(tg, "/get notes.txt")
    document = await tg.wait_for_message(
        USER, after=sent.message_id, match=lambda m: m.document is not None, timeout=WAIT_S
    )
    assert document.document is not None and SECRET not in document.document.data.decode()
    sent = say(tg, "/get ../outside-secret.txt")
    await answer(tg, "outside the session's directory", after=sent)
    sent = say(tg, "/get sneaky.txt")
    await answer(tg, "outside the session's directory", after=sent)
    sent = say(tg, "/get missing.txt")
    await answer(tg, "no such file", after=sent)
