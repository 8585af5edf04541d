"""One session, terminal and Telegram: the seed plan's smoke test, through the real PTB
application (as ``baton run`` starts it), the fake Bot API, and the real Claude CLI (the
seam: real resume, history.jsonl written by the CLI). Following the newest session is
the chat's and plays scripted turns."""

from __future__ import annotations

import asyncio

from session_core.claude_home import ClaudeHome
from session_core.history_lines import read_claude_history
from tests.e2e.telegram.conftest import (
    USER,
    WAIT_S,
    Baton,
    answer,
    bot_texts,
    say,
)
from tests.fakes.anthropic import FakeAnthropic, conversation_text, last_prompt
from tests.fakes.claude_cli import ClaudeEnv, run_claude_print, terminal_session
from tests.fakes.scripted_runner import ScriptedRunner, scripted_session
from tests.fakes.telegram_api import FakeTelegram


async def test_seed_smoke_terminal_to_telegram_and_back(
    tg: FakeTelegram, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    sid = await asyncio.to_thread(terminal_session, cli_env, "first from the terminal")

    # (1) /sessions shows the session started in the terminal, as buttons.
    asked = say(tg, "/sessions")
    picker = await tg.wait_for_message(
        USER, after=asked.message_id, match=lambda m: bool(m.buttons), timeout=WAIT_S
    )
    labels = [b.text for row in picker.buttons for b in row]
    assert any(label.startswith("first from the terminal") for label in labels), labels
    assert "➕ New session" in labels
    assert all(sid not in (b.callback_data or "") for row in picker.buttons for b in row)

    # (2) Tapping it answers "Resumed session" with a transcript preview.
    press = tg.press_button(picker, label="first from the terminal", user_id=USER)
    await tg.wait_for_callback_answer(press, timeout=WAIT_S)
    resumed = await answer(tg, "Resumed session", after=picker)
    assert sid[:8] in resumed.body
    assert "FAKE-REPLY #1 to: first from the terminal" in resumed.body
    assert "Resumed session" in resumed.entity_texts("bold"), "Markdown is rendered"
    assert "**" not in resumed.body
    assert tg.message(USER, picker.message_id).buttons == (), "the picker's buttons are gone"

    # (3) The next message resumes that terminal session.
    sent = say(tg, "continue from telegram")
    await answer(tg, "to: continue from telegram", after=sent)
    request = fake_api.requests_for_session(sid)[-1]
    assert last_prompt(request) == "continue from telegram"
    assert "FAKE-REPLY #1 to: first from the terminal" in conversation_text(request)

    # (4) A session started from Telegram is in history.jsonl and resumes at the desk.
    say(tg, "/new")
    await answer(tg, "next message starts a new session")
    sent = say(tg, "fresh from telegram")
    await answer(tg, "to: fresh from telegram", after=sent)
    entries = read_claude_history(cli_env.config_dir / "history.jsonl")
    fresh = [e for e in entries if e.display == "fresh from telegram"]
    assert len(fresh) == 1 and fresh[0].session_id not in (None, sid)
    new_sid = fresh[0].session_id
    assert new_sid is not None
    desk = await asyncio.to_thread(run_claude_print, cli_env, "back at the desk", resume=new_sid)
    assert desk.returncode == 0, desk.stderr
    assert desk.session_id == new_sid
    assert "fresh from telegram" in conversation_text(fake_api.messages_requests()[-1])
    assert tg.count_429() == 0, bot_texts(tg)


async def test_follows_the_newest_session_says_so_and_new_starts_fresh(
    tg: FakeTelegram,
    scripted_baton: Baton,
    claude_env: ClaudeEnv,
    claude_home: ClaudeHome,
    scripted_runner: ScriptedRunner,
) -> None:
    sent = say(tg, "hello from the phone")
    await answer(tg, "to: hello from the phone", after=sent)
    phone_sid = scripted_runner.started[-1]

    desk_sid = scripted_session(claude_home, claude_env.project, "later at the desk")
    assert desk_sid != phone_sid
    sent = say(tg, "what did I do at the desk?")
    await answer(tg, "to: what did I do at the desk?", after=sent)
    notice = await answer(tg, "Continuing", after=sent)
    assert "later at the desk" in notice.body and "in the terminal" in notice.body
    assert desk_sid[:8] in notice.body
    asked = scripted_runner.calls[-1]
    assert asked.session_id == desk_sid and not asked.force_new, "the desk's session resumed"
    assert scripted_runner.started[-1] == desk_sid
    assert notice.message_id < tg.sent_messages(USER)[-1].message_id, "notice first"

    say(tg, "/new")
    await answer(tg, "next message starts a new session")
    sent = say(tg, "a clean slate")
    await answer(tg, "to: a clean slate", after=sent)
    assert scripted_runner.calls[-1].force_new
    fresh_sid = scripted_runner.started[-1]
    assert fresh_sid not in (phone_sid, desk_sid)
    assert sum("Continuing" in text for text in bot_texts(tg)) == 1, "no notice for /new"
