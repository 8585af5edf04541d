"""The draft path of the Telegram streaming benchmark (``BATON_TELEGRAM_DRAFTS``).

The same bot and fakes as ``telegram_streaming.py``, with private chats streaming
through ``sendMessageDraft``: the time until the answer's first text shows (its first
draft), and, for the slow answer, drafts per second (most in any one second), calls
and 429s, and whether the final message holds every word. Imported by that script,
which prints these beside the edit path measured in the same run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from streaming_harness import WAIT_S

from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.telegram_api import ChatMessage, FakeTelegram

USER = 4242
ANSWER_CALLS = ("sendMessage", "editMessageText", "sendMessageDraft")


def _final(message: ChatMessage) -> bool:
    stop = any("Stop" in b.text for row in message.buttons for b in row)
    return not stop and not message.deleted


async def first_draft(tg: FakeTelegram, prompt: str) -> float:
    """Seconds from the person's message to the first answer text on the draft path:
    its first draft, or the final message when the answer was done before any draft
    (a short answer skips the draft: nothing would animate)."""
    mark = tg.mark()
    sent_at = time.monotonic()
    sent = tg.send_user_message(USER, USER, prompt)
    await tg.wait_for_message(
        USER, after=sent.message_id, match=lambda m: _final(m) and "to:" in m.body, timeout=WAIT_S
    )
    shown = [
        c.at
        for c in tg.calls(since=mark)
        if c.ok
        and (
            c.method == "sendMessageDraft"
            or (c.method == "sendMessage" and "to:" in str(c.params.get("text", "")))
        )
    ]
    return min(shown) - sent_at


@dataclass(frozen=True)
class DraftRun:
    seconds: float
    drafts: int
    max_drafts_in_1s: int
    edits: int
    rate_limited: int
    complete: bool


async def streamed_as_drafts(
    tg: FakeTelegram, fake: FakeAnthropic, reply: Reply, prompt: str
) -> DraftRun:
    fake.script(reply)
    mark, limited = tg.mark(), tg.count_429()
    sent = tg.send_user_message(USER, USER, prompt)
    produced = reply.text.split()

    def answer() -> list[ChatMessage]:
        return [m for m in tg.sent_messages(USER) if m.message_id > sent.message_id and _final(m)]

    def done() -> bool:
        return sum(len(m.body.split()) for m in answer()) >= len(produced)

    await tg.wait_for(done, timeout=2 * WAIT_S, what="the final message")
    drafts = [c.at for c in tg.calls("sendMessageDraft", since=mark) if c.ok]
    seconds = max(drafts[-1] - drafts[0], 1e-9) if drafts else 0.0
    most = max((sum(1 for u in drafts[i:] if u - t < 1.0) for i, t in enumerate(drafts)), default=0)
    shown = [w for m in answer() for w in m.body.split()]
    return DraftRun(
        seconds=seconds,
        drafts=len(drafts),
        max_drafts_in_1s=most,
        edits=len(tg.calls("editMessageText", since=mark)),
        rate_limited=tg.count_429() - limited,
        complete=shown == produced,
    )
