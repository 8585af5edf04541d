"""Cross-process session claims: one writer, a named holder, nothing stale."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from session_core.session_claims import SessionClaims

SID = "0211e2fa-1111-2222-3333-444455556666"


async def test_holder_is_named_while_held_and_free_after(tmp_path: Path) -> None:
    claims = SessionClaims(tmp_path)
    assert claims.holder(SID) is None
    async with claims.claim(SID, "discord:9"):
        assert claims.holder(SID) == f"discord:9 (pid {os.getpid()})"
    assert claims.holder(SID) is None


async def test_a_second_claim_waits_for_the_first(tmp_path: Path) -> None:
    claims = SessionClaims(tmp_path)
    order: list[str] = []

    async def turn(name: str, hold_s: float) -> None:
        async with claims.claim(SID, name):
            order.append(f"{name} in")
            await asyncio.sleep(hold_s)
            order.append(f"{name} out")

    first = asyncio.create_task(turn("a", 0.3))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(first, turn("b", 0)), 5)
    assert order == ["a in", "a out", "b in", "b out"]


async def test_a_dead_holder_leaves_nothing_stale(tmp_path: Path) -> None:
    script = (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(tmp_path / (SID + '.lock'))!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'other'); print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        claims = SessionClaims(tmp_path)
        assert claims.holder(SID) == "other"
    finally:
        child.kill()
        child.wait()
    async with asyncio.timeout(5), claims.claim(SID, "me"):
        assert claims.holder(SID) is not None
