"""TelegramSurface meets the shared surface contract, read back from the fake server."""

from __future__ import annotations

import functools

import pytest

from tests.conformance.surface_suite import CHECK_NAMES, run_check
from tests.e2e.telegram.harness import telegram_harness


@pytest.mark.parametrize("check", CHECK_NAMES)
async def test_telegram_surface_meets_the_contract(check: str) -> None:
    await run_check(check, telegram_harness)


@pytest.mark.parametrize("check", CHECK_NAMES)
async def test_a_drafting_surface_meets_the_contract(check: str) -> None:
    """Private chats streaming through drafts (``BATON_TELEGRAM_DRAFTS``)."""
    await run_check(check, functools.partial(telegram_harness, drafts=True))
