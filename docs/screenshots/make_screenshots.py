"""Make the README's pictures from the real product over the test fakes.

One session is started in a terminal (the real Claude Code CLI against FakeAnthropic),
continued from Telegram (the real bot against the fake Bot API) and from Discord (the
real bot against the fake Discord), and then listed by the real `claude --resume`
picker in tmux. Each app's chat is rendered to HTML in that app's look and captured
with headless Chromium (Debian's ``chromium`` package) at 2x:

    uv run python docs/screenshots/make_screenshots.py

writes docs/telegram.png, docs/discord.png and docs/terminal.png. Nothing here is faked
but the servers at the wire and the model's words.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from pages import discord_html, telegram_html, terminal_html  # noqa: E402  (beside this file)

from tests.fakes.anthropic import FakeAnthropic, RecordedRequest, Reply, last_prompt  # noqa: E402
from tests.fakes.claude_cli import ClaudeEnv, isolated_claude_env  # noqa: E402
from tests.fakes.telegram_api import ChatMessage  # noqa: E402

DOCS = ROOT / "docs"

TERMINAL_PROMPT = "add a --json flag to the export command"
REPLIES = {
    TERMINAL_PROMPT: (
        "Added `--json` to `export`: it prints one JSON object per line, with the same "
        "fields as the table. The flag is documented in `--help`."
    ),
    "now add tests for it": (
        "Added **3 tests** in `tests/test_export.py`:\n\n"
        "- the table output is unchanged\n"
        "- `--json` prints one object per line\n"
        "- an empty export prints nothing\n\n"
        "They need the project's test runner, so I'd like to run them now."
    ),
    "and a changelog line?": (
        "Done. Under **Unreleased → Added** in `CHANGELOG.md`:\n\n"
        "```\n- `export --json`: one JSON object per session\n```"
    ),
}


def responder(request: RecordedRequest, n: int) -> Reply | None:
    prompt = last_prompt(request)
    if prompt == "now add tests for it":
        return Reply.tool_use(
            "Bash", {"command": "uv run pytest tests/test_export.py -q"}, REPLIES[prompt]
        )
    text = REPLIES.get(prompt)
    return Reply(text=text, chunks=4) if text else None


# -- the scenes -----------------------------------------------------------------------


async def telegram_scene(world: ClaudeEnv, data: Path) -> list[ChatMessage]:
    from tests.e2e.telegram.conftest import USER, Baton, answer, bot_settings, say
    from tests.fakes.telegram_api import FakeTelegram

    async with (
        FakeTelegram(bot_username="my_baton_bot") as tg,
        Baton(bot_settings(tg, world, data), tg),
    ):
        asked = say(tg, "/sessions")
        picker = await tg.wait_for_message(USER, after=asked.message_id, match=_buttons)
        press = tg.press_button(picker, label=TERMINAL_PROMPT[:20], user_id=USER)
        await tg.wait_for_callback_answer(press)
        await answer(tg, "Resumed session", after=picker)
        sent = say(tg, "now add tests for it")
        await tg.wait_for_message(USER, contains="Allow Bash?", after=sent.message_id)
        await asyncio.sleep(1.5)  # the live message settles
        chat = tg.transcript(USER)
    return chat


def _buttons(message: ChatMessage) -> bool:
    return bool(message.buttons)


async def discord_scene(world: ClaudeEnv, data: Path) -> tuple[list[Any], dict[int, str]]:
    from tests.e2e.discord.conftest import Baton, answer_of, bot_settings, choose, final
    from tests.fakes.discord_api import FakeDiscord

    async with FakeDiscord(bot_name="baton") as dc, Baton(bot_settings(dc, world, data), dc):
        alice, channel = dc.user_id("alice"), dc.channel_id("general")
        asked = await dc.dispatch_slash_command("sessions", user_id=alice, channel_id=channel)
        await choose(dc, await answer_of(dc, asked), TERMINAL_PROMPT[:20])
        thread = await dc.wait_for_thread(channel, name_contains=TERMINAL_PROMPT[:20])
        await dc.wait_for_message(thread.id, "Resumed session")
        await dc.send_user_message(thread.id, alice, "and a changelog line?")
        await dc.wait_for_message(thread.id, predicate=final("Unreleased"))
        messages = [m for m in dc.messages(thread.id) if not m.deleted]
        names = {u.id: u.name for u in dc.world.users.values()}
    return messages, names


def desk_session(world: ClaudeEnv) -> None:
    """The session starts at the desk, in the real TUI."""
    from tests.fakes.tui import Tui

    with Tui(world, world.project) as tui:
        tui.wait_for("shift+tab", timeout_s=60)
        tui.type(TERMINAL_PROMPT)
        tui.press("Enter")
        tui.wait_for("one JSON object per line", timeout_s=60)


def terminal_scene(world: ClaudeEnv) -> str:
    """Back at the desk: `claude --resume` lists the session the chats continued."""
    from tests.fakes.tui import Tui

    with Tui(world, world.project, "--resume") as tui:
        tui.wait_for("Resume session", timeout_s=60)
        time.sleep(3.0)
        return tui.screen_ansi()


# -- capture --------------------------------------------------------------------------


async def screenshot(page: Path, png: Path, width: int) -> None:
    """Load ``page`` in headless Chromium and save the whole page at 2x."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Debian's chromium package: apt-get install chromium")
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        browser = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert browser.stderr is not None
            port = None
            for line in browser.stderr:
                found = re.search(r"ws://127\.0\.0\.1:(\d+)/", line)
                if found:
                    port = found.group(1)
                    break
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/json/list") as answer:
                    targets = await answer.json()
                target = next(t for t in targets if t["type"] == "page")
                async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    cdp = _Cdp(ws)
                    await cdp(
                        "Emulation.setDeviceMetricsOverride",
                        width=width,
                        height=400,
                        deviceScaleFactor=2,
                        mobile=False,
                    )
                    await cdp("Page.navigate", url=page.as_uri())
                    await asyncio.sleep(1.0)
                    measured = await cdp(
                        "Runtime.evaluate",
                        expression="document.querySelector('.frame').getBoundingClientRect()"
                        ".toJSON()",
                        returnByValue=True,
                    )
                    box = measured["result"]["value"]
                    await cdp(
                        "Emulation.setDeviceMetricsOverride",
                        width=width,
                        height=int(box["height"]) + 1,
                        deviceScaleFactor=2,
                        mobile=False,
                    )
                    shot = await cdp(
                        "Page.captureScreenshot",
                        format="png",
                        clip={
                            "x": 0,
                            "y": 0,
                            "width": box["width"],
                            "height": box["height"],
                            "scale": 1,
                        },
                    )
            png.write_bytes(base64.b64decode(shot["data"]))
        finally:
            browser.terminate()
            browser.wait(timeout=10)


class _Cdp:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._id = 0

    async def __call__(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        await self._ws.send_str(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads((await self._ws.receive()).data)
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result


# -- main -----------------------------------------------------------------------------


async def main() -> None:
    shots = tempfile.TemporaryDirectory(prefix="baton-shots-", ignore_cleanup_errors=True)
    with shots as tmp, FakeAnthropic() as fake:
        fake.responder = responder
        world = isolated_claude_env(Path(tmp) / "claude", fake.url)
        # A project path that reads like one in the pictures.
        project = Path(tempfile.gettempdir()) / "shop"
        shutil.rmtree(project, ignore_errors=True)
        project.mkdir()
        world = dataclasses.replace(world, project=project)
        for name, value in world.env.items():
            os.environ[name] = value
        await asyncio.to_thread(desk_session, world)
        chat = await telegram_scene(world, Path(tmp) / "data-telegram")
        messages, names = await discord_scene(world, Path(tmp) / "data-discord")
        screen = await asyncio.to_thread(terminal_scene, world)
        shutil.rmtree(project, ignore_errors=True)
    pages = {
        "telegram": (telegram_html(chat), 560),
        "discord": (discord_html(messages, names, TERMINAL_PROMPT), 720),
        "terminal": (terminal_html(screen), 1420),
    }
    with tempfile.TemporaryDirectory(prefix="baton-pages-") as pages_dir:
        for name, (text, width) in pages.items():
            page = Path(pages_dir) / f"{name}.html"
            page.write_text(text, encoding="utf-8")
            await screenshot(page, DOCS / f"{name}.png", width)
            print(f"wrote docs/{name}.png")


if __name__ == "__main__":
    asyncio.run(main())
