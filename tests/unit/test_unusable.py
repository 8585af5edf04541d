"""Answers to messages the bot cannot use (issue 10, finding 7)."""

from __future__ import annotations

import pytest

from chat_adapters.unusable import TAKES, unusable_text


@pytest.mark.parametrize("kind", ["sticker", "poll", "location", "something-new"])
def test_every_kind_is_answered_with_what_the_bot_takes(kind: str) -> None:
    text = unusable_text(kind)
    assert TAKES in text and "nothing was sent to Claude" in text
