"""Every kind of message gets an answer (issue 10, finding 7): stickers, locations,
contacts and polls are answered with what the bot takes, and none of them reaches
Claude (voice notes, audio and video notes are transcribed: test_voice.py). The whole
bot, real PTB, the fake Bot API."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.e2e.telegram.conftest import USER, WAIT_S, Baton
from tests.fakes.scripted_runner import ScriptedRunner
from tests.fakes.telegram_api import FakeTelegram

_ids = itertools.count(5000)
FILE = {"file_id": "f1", "file_unique_id": "u1"}
KINDS: dict[str, dict[str, Any]] = {
    "sticker": {
        "sticker": FILE
        | {"type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}
    },
    "location": {"location": {"latitude": 52.5, "longitude": 13.4}},
    "contact": {"contact": {"phone_number": "+100", "first_name": "Ann"}},
    "poll": {
        "poll": {
            "id": "p1",
            "question": "lunch?",
            "options": [
                {"text": "yes", "voter_count": 0, "persistent_id": "o1"},
                {"text": "no", "voter_count": 0, "persistent_id": "o2"},
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
    },
}


def queue_kind(tg: FakeTelegram, body: dict[str, Any]) -> None:
    tg.add_chat(USER)
    user = {"id": USER, "is_bot": False, "first_name": "Pat"}
    message = {
        "message_id": next(_ids),
        "date": 1_800_000_000,
        "chat": {"id": USER, "type": "private", "first_name": "Pat"},
        "from": user,
    }
    tg.queue_update({"message": message | body})


@pytest.mark.parametrize("kind", list(KINDS))
async def test_a_message_the_bot_cannot_use_is_answered(
    tg: FakeTelegram, scripted_baton: Baton, scripted_runner: ScriptedRunner, kind: str
) -> None:
    queue_kind(tg, KINDS[kind])
    said = await tg.wait_for_message(USER, contains="nothing was sent to Claude", timeout=WAIT_S)
    assert "text, photos, files" in said.body
    assert scripted_runner.calls == []
