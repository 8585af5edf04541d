"""How the Telegram surface treats errors from the Bot API: network failures are
retried, refusals are not, and a 429's wait is read in seconds whatever PTB's type."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from chat_adapters.telegram.api import call_api, capabilities_for, telegram_retry_after

# PTB itself reads the deprecated int form while building a RetryAfter.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


class Flaky:
    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "sent"


async def test_network_errors_are_retried() -> None:
    flaky = Flaky([TimedOut(), NetworkError("connection reset")])
    assert await call_api(flaky) == "sent"
    assert flaky.calls == 3


async def test_a_refusal_is_not_retried() -> None:
    flaky = Flaky([BadRequest("Message is too long")])
    with pytest.raises(BadRequest):
        await call_api(flaky)
    assert flaky.calls == 1


async def test_a_rate_limit_is_left_to_the_outbox() -> None:
    flaky = Flaky([RetryAfter(3)])
    with pytest.raises(RetryAfter):
        await call_api(flaky)
    assert flaky.calls == 1


async def test_retries_give_up_with_the_last_error() -> None:
    flaky = Flaky([NetworkError(f"down {i}") for i in range(10)])
    with pytest.raises(NetworkError, match="down 2"):
        await call_api(flaky, attempts=3)
    assert flaky.calls == 3


def test_retry_after_in_seconds() -> None:
    assert telegram_retry_after(RetryAfter(7)) == 7.0
    assert telegram_retry_after(RetryAfter(timedelta(seconds=2.5))) == 2.5
    assert telegram_retry_after(BadRequest("x")) is None


def test_groups_are_paced_slower_than_private_chats() -> None:
    private, group = capabilities_for(42), capabilities_for(-10042)
    assert private.min_edit_interval_s == 1.0 and group.min_edit_interval_s == 3.0
    for caps in (private, group):
        assert caps.max_message_length == 4096 and caps.length_unit == "utf16"
        assert caps.button_data_limit_bytes == 64 and caps.can_edit and caps.supports_files
        assert caps.max_file_bytes == 50 * 1024 * 1024
