"""``/new`` starts Claude Code for the new session before its first prompt.

The seam tests run the real CLI: the spare registers itself in ``sessions/<pid>.json``
(as every ``claude`` does) under the session id it was started with, so the test can
see it exists before the prompt is sent and that the prompt's history line and API
request carry that very id. The scripted test holds the hint to what the turn asks.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from chat_adapters.settings import Settings
from session_core.claude_home import ClaudeHome
from session_core.history_lines import read_claude_history
from tests.e2e.telegram.conftest import WAIT_S, Baton, answer, bot_settings, say
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.claude_cli import ClaudeEnv
from tests.fakes.scripted_runner import ScriptedRunner, WarmCall, scripted_session
from tests.fakes.telegram_api import FakeTelegram


def warm_settings(tg: FakeTelegram, env: ClaudeEnv, tmp_path: Path) -> Settings:
    return bot_settings(tg, env, tmp_path / "data", BATON_WARM_NEW_SESSIONS=True)


def registered_sessions(env: ClaudeEnv) -> dict[int, str]:
    """pid -> session id of every ``claude`` registered in the config dir now."""
    found: dict[int, str] = {}
    for entry in (env.config_dir / "sessions").glob("*.json"):
        try:
            found[int(entry.stem)] = json.loads(entry.read_text())["sessionId"]
        except (OSError, ValueError, KeyError):
            continue  # being written or removed
    return found


async def new_with_spare(tg: FakeTelegram, env: ClaudeEnv) -> str:
    """``/new``, answered; the session id its spare CLI registered, once it has."""
    say(tg, "/new")
    await answer(tg, "next message starts a new session")
    return await spare_session(env)


async def spare_session(env: ClaudeEnv) -> str:
    """The session id the spare CLI registered, once it has."""
    deadline = time.monotonic() + WAIT_S
    while not (found := registered_sessions(env)):
        assert time.monotonic() < deadline, "no Claude Code was started after /new"
        await asyncio.sleep(0.05)
    (session_id,) = found.values()
    return session_id


async def test_the_first_prompt_after_new_runs_on_the_cli_started_for_it(
    tg: FakeTelegram, cli_env: ClaudeEnv, fake_api: FakeAnthropic, tmp_path: Path, unpaced: None
) -> None:
    async with Baton(warm_settings(tg, cli_env, tmp_path), tg):
        spare = await new_with_spare(tg, cli_env)
        assert fake_api.messages_requests() == [], "nothing is sent before the prompt"
        sent = say(tg, "first words")
        await answer(tg, "to: first words", after=sent)
        (entry,) = [e for e in read_claude_history(cli_env.config_dir / "history.jsonl")]
        assert (entry.display, entry.session_id) == ("first words", spare)
        assert [r.session_id for r in fake_api.messages_requests()] == [spare]
        assert list(registered_sessions(cli_env).values()) == [spare], "no second CLI"


async def test_a_model_chosen_after_new_is_switched_on_the_spare(
    tg: FakeTelegram, cli_env: ClaudeEnv, fake_api: FakeAnthropic, tmp_path: Path, unpaced: None
) -> None:
    async with Baton(warm_settings(tg, cli_env, tmp_path), tg):
        spare = await new_with_spare(tg, cli_env)
        asked = say(tg, "/model claude-fake-other")
        await answer(tg, "claude-fake-other", after=asked)
        sent = say(tg, "on the other model")
        await answer(tg, "to: on the other model", after=sent)
        request = fake_api.messages_requests()[-1]
        assert (request.session_id, request.model) == (spare, "claude-fake-other")


async def test_an_unused_spare_leaves_nothing_behind(
    tg: FakeTelegram, cli_env: ClaudeEnv, fake_api: FakeAnthropic, tmp_path: Path, unpaced: None
) -> None:
    history = cli_env.config_dir / "history.jsonl"
    async with Baton(warm_settings(tg, cli_env, tmp_path), tg):
        spare = await new_with_spare(tg, cli_env)
    assert registered_sessions(cli_env) == {}, "the spare exited with the bot"
    assert not history.exists() or read_claude_history(history) == []
    assert list((cli_env.config_dir / "projects").rglob(f"{spare}*")) == [], "no transcript"
    assert fake_api.messages_requests() == []


async def test_new_hints_exactly_what_its_first_turn_asks_for(
    tg: FakeTelegram,
    claude_env: ClaudeEnv,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
    unpaced: None,
) -> None:
    settings = warm_settings(tg, claude_env, tmp_path)
    async with Baton(settings, tg, turns=scripted_runner):
        for command, shown in (("/model opus-fake", "opus-fake"), ("/mode plan", "plan")):
            asked = say(tg, command)
            await answer(tg, shown, after=asked)
        say(tg, "/new")
        await answer(tg, "next message starts a new session")
        sent = say(tg, "go")
        await answer(tg, "SCRIPTED-REPLY to: go", after=sent)
    (warm,) = scripted_runner.warmed
    (call,) = scripted_runner.calls
    assert call.force_new
    assert warm == WarmCall.of(call)
    assert (warm.model, warm.permission_mode) == ("opus-fake", "plan")


async def test_off_means_no_hint(
    tg: FakeTelegram, scripted_runner: ScriptedRunner, scripted_baton: Baton
) -> None:
    say(tg, "/new")
    await answer(tg, "next message starts a new session")
    assert scripted_runner.warmed == []


async def test_a_prompt_sent_while_the_spare_starts_waits_for_it_not_for_another(
    tg: FakeTelegram, cli_env: ClaudeEnv, fake_api: FakeAnthropic, tmp_path: Path, unpaced: None
) -> None:
    async with Baton(warm_settings(tg, cli_env, tmp_path), tg):
        say(tg, "/new")
        await answer(tg, "next message starts a new session")
        sent = say(tg, "straight away")  # the spare is still starting
        await answer(tg, "to: straight away", after=sent)
        (entry,) = read_claude_history(cli_env.config_dir / "history.jsonl")
        assert list(registered_sessions(cli_env).values()) == [entry.session_id], "one CLI"
        assert [r.session_id for r in fake_api.messages_requests()] == [entry.session_id]


async def test_cd_to_a_directory_without_sessions_warms_its_first(
    tg: FakeTelegram,
    claude_env: ClaudeEnv,
    claude_home: ClaudeHome,
    scripted_runner: ScriptedRunner,
    tmp_path: Path,
    unpaced: None,
) -> None:
    empty = claude_env.project / "untouched"
    empty.mkdir()
    scripted_session(claude_home, claude_env.project, "earlier at the desk")
    settings = warm_settings(tg, claude_env, tmp_path)
    async with Baton(settings, tg, turns=scripted_runner):
        asked = say(tg, f"/cd {empty}")
        await answer(tg, "No sessions there yet", after=asked)
        sent = say(tg, "first here")
        await answer(tg, "SCRIPTED-REPLY to: first here", after=sent)
        sent = say(tg, "/cd " + str(claude_env.project))  # it has a session now: no hint
        await answer(tg, "Following its newest session", after=sent)
    (warm,) = scripted_runner.warmed
    (call,) = scripted_runner.calls
    assert call.session_id is None and call.directory == str(empty)
    assert warm == WarmCall.of(call)
