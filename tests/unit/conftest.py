"""Fixtures shared by the history tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from session_core import history_index, history_lines, history_scan


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tiny read blocks so a short test file crosses many block boundaries."""
    for module in (history_lines, history_scan, history_index):
        for name, value in (("TAIL_BLOCK", 97), ("READ_CHUNK", 61), ("MAX_LINE_BYTES", 300)):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, value)
    yield
