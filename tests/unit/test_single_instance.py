"""One bot per token: a second start is refused, naming the holder; nothing stale."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chat_adapters.single_instance import AlreadyRunning, token_lock, token_locks


def test_second_holder_is_refused_and_the_token_is_not_in_the_file_name(tmp_path: Path) -> None:
    with token_lock(tmp_path, "telegram", "123:secret-token"):
        with (
            pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}"),
            token_lock(tmp_path, "telegram", "123:secret-token"),
        ):
            pass
        with token_lock(tmp_path, "telegram", "456:other-token"):
            pass  # another token is another bot
        assert all("secret" not in p.name for p in tmp_path.iterdir())
    with token_lock(tmp_path, "telegram", "123:secret-token"):
        pass  # released on exit


def test_all_or_none(tmp_path: Path) -> None:
    with (
        token_lock(tmp_path, "discord", "d-token"),
        pytest.raises(AlreadyRunning),
        token_locks(tmp_path, {"telegram": "t-token", "discord": "d-token"}),
    ):
        pass
    with token_lock(tmp_path, "telegram", "t-token"):
        pass  # the telegram lock taken before the failure was let go
