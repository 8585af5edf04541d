"""Claude Code's own commands from Telegram: a project's /deploy is forwarded and
expanded by the real CLI, the chat's menu lists it, terminal-only built-ins are
refused, /context shows a table."""

from __future__ import annotations

from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, say
from tests.fakes.anthropic import FakeAnthropic, conversation_text
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.claude_project import add_deploy_command
from tests.fakes.telegram_api import FakeTelegram

CHAT_SCOPE = {"type": "chat", "chat_id": USER}


async def test_project_command_is_forwarded_and_listed_in_the_chat_menu(
    tg: FakeTelegram, baton: Baton, cli_env: ClaudeEnv, fake_api: FakeAnthropic
) -> None:
    add_deploy_command(cli_env.project)
    sent = say(tg, "/deploy staging-eu")
    await answer(tg, "FAKE-REPLY", after=sent)
    request = fake_api.messages_requests()[-1]
    assert "Deploy the service to the environment named" in conversation_text(request)
    assert "staging-eu" in conversation_text(request)

    await tg.wait_for(lambda: bool(tg.commands_for(CHAT_SCOPE)), timeout=WAIT_S)
    menu = dict(tg.commands_for(CHAT_SCOPE))
    assert menu["deploy"].startswith("Deploy the service")
    assert "help" in menu and "compact" in menu  # the bot's own and Claude Code's
    assert "login" not in menu and "vim" not in menu
    assert len(menu) <= 100

    sent = say(tg, "/login")
    await answer(tg, "needs a terminal", after=sent)
    sent = say(tg, "/nonsense_here")
    await answer(tg, "Unknown command", after=sent)


async def test_context_shows_a_table(tg: FakeTelegram, baton: Baton, cli_env: ClaudeEnv) -> None:
    sent = say(tg, "hello")
    await answer(tg, "FAKE-REPLY", after=sent)
    sent = say(tg, "/context")
    shown = await answer(tg, "Context", after=sent)
    assert "% used" in shown.body
    table = "\n".join(shown.entity_texts("pre"))
    assert "Total" in table and "/" in table
