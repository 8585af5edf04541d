"""HTML in each app's look for the README's pictures (see make_screenshots.py): the
Telegram chat from the fake Bot API's transcript, the Discord thread from the fake
Discord's messages, and the terminal from tmux's screen with its colours."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.fakes.telegram_api import ChatMessage, utf16_slice

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
