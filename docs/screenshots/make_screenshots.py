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
import html
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

from tests.fakes.anthropic import FakeAnthropic, RecordedRequest, Reply, last_prompt  # noqa: E402
from tests.fakes.claude_cli import ClaudeEnv, isolated_claude_env  # noqa: E402
from tests.fakes.telegram_api import ChatMessage, utf16_slice  # noqa: E402

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


# -- rendering ------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>{css}</style></head>
<body><div class="frame">{body}</div></body></html>"""

TELEGRAM_CSS = """
body { margin: 0; background: #8fb58a; font: 15px/1.35 "DejaVu Sans", sans-serif; }
.frame { width: 560px; padding: 0 0 14px; background: linear-gradient(#a5c79a, #7fae84); }
.top { background: #fff; padding: 10px 16px; display: flex; gap: 12px; align-items: center;
  box-shadow: 0 1px 2px rgba(0,0,0,.15); margin-bottom: 10px; }
.avatar { width: 40px; height: 40px; border-radius: 50%; background: #5b9bd5; color: #fff;
  display: flex; align-items: center; justify-content: center; font-weight: bold; }
.name { font-weight: bold; } .sub { color: #7a8a99; font-size: 13px; }
.row { display: flex; margin: 4px 12px; } .row.me { justify-content: flex-end; }
.bubble { max-width: 440px; padding: 7px 11px; border-radius: 12px; background: #fff;
  white-space: pre-wrap; word-wrap: break-word; box-shadow: 0 1px 1px rgba(0,0,0,.12); }
.me .bubble { background: #e1fec6; }
code, pre { font: 13px "DejaVu Sans Mono", monospace; color: #c0392b; }
pre { display: block; background: #f3f5f7; color: #333; padding: 6px 8px;
  border-radius: 6px; margin: 4px 0; white-space: pre-wrap; }
.keys { margin: 3px 12px 6px; max-width: 462px; }
.keyrow { display: flex; gap: 4px; margin-top: 4px; }
.key { flex: 1; text-align: center; background: rgba(60,90,60,.45); color: #fff;
  border-radius: 8px; padding: 7px 4px; font-size: 14px; }
"""

DISCORD_CSS = """
body { margin: 0; background: #313338; font: 15px/1.4 "DejaVu Sans", sans-serif;
  color: #dbdee1; }
.frame { width: 720px; padding: 0 0 16px; }
.top { padding: 12px 16px; border-bottom: 1px solid #26282c; color: #f2f3f5;
  font-weight: bold; margin-bottom: 8px; }
.top .hash { color: #80848e; margin-right: 6px; }
.msg { display: flex; gap: 14px; padding: 6px 16px; }
.avatar { flex: none; width: 40px; height: 40px; border-radius: 50%; color: #fff;
  display: flex; align-items: center; justify-content: center; font-weight: bold; }
.who { font-weight: bold; color: #f2f3f5; } .bot { background: #5865f2; font-size: 10px;
  padding: 1px 4px; border-radius: 3px; margin-left: 4px; vertical-align: 2px; }
.text { white-space: pre-wrap; word-wrap: break-word; }
code { font: 13px "DejaVu Sans Mono", monospace; background: #2b2d31; padding: 1px 3px;
  border-radius: 3px; }
pre { font: 13px "DejaVu Sans Mono", monospace; background: #2b2d31; border: 1px solid #1e1f22;
  border-radius: 4px; padding: 8px; margin: 4px 0; white-space: pre-wrap; }
.buttons { display: flex; gap: 8px; margin-top: 6px; }
.button { background: #4e5058; color: #fff; border-radius: 3px; padding: 4px 14px;
  font-size: 14px; }
"""

TERMINAL_CSS = """
body { margin: 0; background: #1e1e1e; }
.frame { padding: 14px 16px; display: inline-block; }
pre { margin: 0; font: 14px/1.25 "DejaVu Sans Mono", monospace; color: #d4d4d4; }
.bar { height: 26px; background: #323233; margin: -14px -16px 12px; display: flex;
  align-items: center; gap: 8px; padding-left: 12px; }
.dot { width: 12px; height: 12px; border-radius: 50%; }
"""


def telegram_html(chat: list[ChatMessage]) -> str:
    parts = [
        '<div class="top"><div class="avatar">B</div><div><div class="name">baton</div>'
        '<div class="sub">bot</div></div></div>'
    ]
    for m in chat:
        side = "" if m.from_bot else " me"
        parts.append(f'<div class="row{side}"><div class="bubble">{_entities_html(m)}</div></div>')
        if m.buttons:
            rows = "".join(
                '<div class="keyrow">'
                + "".join(f'<div class="key">{html.escape(b.text)}</div>' for b in row)
                + "</div>"
                for row in m.buttons
            )
            parts.append(f'<div class="keys">{rows}</div>')
    return PAGE.format(css=TELEGRAM_CSS, body="".join(parts))


def _entities_html(m: ChatMessage) -> str:
    """Text with Telegram's bold/italic/code/pre entities (outermost ones only)."""
    text, out, at = m.body, [], 0
    tags = {"bold": "b", "italic": "i", "code": "code", "pre": "pre", "underline": "u"}
    for e in sorted(m.entities, key=lambda e: (e["offset"], -e["length"])):
        tag = tags.get(e["type"])
        if tag is None or e["offset"] < at:
            continue
        out.append(html.escape(utf16_slice(text, at, e["offset"] - at)))
        inner = html.escape(utf16_slice(text, e["offset"], e["length"]))
        out.append(f"<{tag}>{inner}</{tag}>")
        at = e["offset"] + e["length"]
    out.append(html.escape(utf16_slice(text, at, len(text.encode("utf-16-le")) // 2 - at)))
    return "".join(out)


def discord_html(messages: list[Any], names: dict[int, str], thread: str) -> str:
    colours = ["#5865f2", "#3ba55c", "#eb459e"]
    parts = [f'<div class="top"><span class="hash">🧵</span>{html.escape(thread)}</div>']
    for m in messages:
        name = names.get(m.author_id, "baton")
        bot = name == "baton"
        colour = colours[0] if bot else colours[1]
        badge = '<span class="bot">APP</span>' if bot else ""
        buttons = "".join(
            f'<span class="button">{html.escape(str(c.get("label", "")))}</span>'
            for row in m.components
            for c in row.get("components", [])
            if c.get("type") == 2
        )
        parts.append(
            f'<div class="msg"><div class="avatar" style="background:{colour}">'
            f"{html.escape(name[:1].upper())}</div><div>"
            f'<div class="who">{html.escape(name)}{badge}</div>'
            f'<div class="text">{_markdown_html(m.content)}</div>'
            + (f'<div class="buttons">{buttons}</div>' if buttons else "")
            + "</div></div>"
        )
    return PAGE.format(css=DISCORD_CSS, body="".join(parts))


def _markdown_html(text: str) -> str:
    """The little Markdown Discord shows here: fences, inline code, bold, italics."""
    chunks = re.split(r"```(?:\w*)\n?(.*?)```", text, flags=re.S)
    out = []
    for i, chunk in enumerate(chunks):
        if i % 2:
            out.append(f"<pre>{html.escape(chunk.rstrip())}</pre>")
            continue
        escaped = html.escape(chunk)
        escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
        escaped = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)
        escaped = re.sub(r"(?<![\w*])\*(\S[^*]*?)\*", r"<i>\1</i>", escaped)
        escaped = re.sub(r"(?<!\w)_(\S[^_]*?)_(?!\w)", r"<i>\1</i>", escaped)
        out.append(escaped.rstrip("\n") + "\n" if i + 1 < len(chunks) else escaped)
    return "".join(out).strip()


_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_BASIC = ["#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5"]
_BRIGHT = ["#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff"]


def _colour256(n: int) -> str:
    if n < 8:
        return _BASIC[n]
    if n < 16:
        return _BRIGHT[n - 8]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return f"#{steps[n // 36]:02x}{steps[n // 6 % 6]:02x}{steps[n % 6]:02x}"
    level = 8 + (n - 232) * 10
    return f"#{level:02x}{level:02x}{level:02x}"


def terminal_html(screen: str) -> str:
    """tmux's screen with its SGR colours as spans."""
    out: list[str] = []
    style: dict[str, str] = {}
    at = 0
    for found in _SGR.finditer(screen):
        out.append(_span(html.escape(screen[at : found.start()]), style))
        at = found.end()
        codes = [int(c) if c else 0 for c in found.group(1).split(";")]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                style = {}
            elif code == 1:
                style["font-weight"] = "bold"
            elif code == 2:
                style["opacity"] = "0.6"
            elif code == 7:
                style["background"], style["color"] = "#d4d4d4", "#1e1e1e"
            elif code == 22:
                style.pop("font-weight", None)
                style.pop("opacity", None)
            elif code in (38, 48) and i + 1 < len(codes):
                key = "color" if code == 38 else "background"
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    style[key], i = _colour256(codes[i + 2]), i + 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    r, g, b = codes[i + 2 : i + 5]
                    style[key], i = f"#{r:02x}{g:02x}{b:02x}", i + 4
            elif code == 39:
                style.pop("color", None)
            elif code == 49:
                style.pop("background", None)
            elif 30 <= code <= 37:
                style["color"] = _BASIC[code - 30]
            elif 90 <= code <= 97:
                style["color"] = _BRIGHT[code - 90]
            i += 1
    out.append(_span(html.escape(screen[at:]), style))
    lines = "".join(out).rstrip().split("\n")
    while lines and not re.sub(r"<[^>]+>", "", lines[-1]).strip():
        lines.pop()
    dots = "".join(
        f'<span class="dot" style="background:{c}"></span>'
        for c in ("#ff5f57", "#febc2e", "#28c840")
    )
    body = f'<div class="bar">{dots}</div><pre>{chr(10).join(lines)}</pre>'
    return PAGE.format(css=TERMINAL_CSS, body=body)


def _span(text: str, style: dict[str, str]) -> str:
    if not text or not style:
        return text
    css = ";".join(f"{k}:{v}" for k, v in style.items())
    return f'<span style="{css}">{text}</span>'


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
    with tempfile.TemporaryDirectory(prefix="baton-shots-") as tmp, FakeAnthropic() as fake:
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
