"""A Telegram approval arrives as a new message, through the real Claude Code CLI (the seam);
the other notify tests run on scripted turns in ``test_notify.py``."""

from __future__ import annotations

from tests.e2e.telegram.conftest import USER, WAIT_S, Baton, answer, say
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.telegram_api import FakeTelegram

GROUP = -100991


async def test_an_approval_arrives_as_a_new_message(
    tg: FakeTelegram, baton: Baton, fake_api: FakeAnthropic
) -> None:
    fake_api.script(
        Reply.tool_use(
            "Bash", {"command": "touch x.txt", "description": "make x"}, text="let me look first"
        ),
        Reply(text="made"),
    )
    mark = tg.mark()
    sent = say(tg, "make x")
    asked = await tg.wait_for_message(
        USER,
        after=sent.message_id,
        match=lambda m: "Allow Bash?" in m.body and bool(m.buttons),
        timeout=WAIT_S,
    )
    sends = [c for c in tg.calls("sendMessage", since=mark) if "Allow Bash?" in c.params["text"]]
    edits = [c for c in tg.calls("editMessageText", since=mark) if "Allow" in c.params["text"]]
    assert len(sends) == 1 and edits == [], "sent (which notifies), never edited in"
    assert not sends[0].params.get("disable_notification")
    press = tg.press_button(asked, label="Allow once", user_id=USER)
    await tg.wait_for_callback_answer(press, timeout=WAIT_S)
    await answer(tg, "made", after=asked)
