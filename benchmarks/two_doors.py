"""Two doors hammering one session, and what an approval from the chat costs.

Question 1: when a Telegram chat and a Discord channel send 20 prompts each, interleaved,
to the same session, does every turn complete, in order per door, with no history line
lost or duplicated and the transcript still one clean chain?
Question 2: how long from the approval button press to the tool's result reaching the
API, against the same tool call that needs no approval (baseline, same run)?

Run: ``uv run python benchmarks/two_doors.py`` (real Claude CLI, FakeAnthropic; ~1 min).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chat_adapters.chat_input import Sender
from chat_adapters.chat_services import ChatPolicy
from chat_adapters.dispatch import ChatDispatcher
from session_core.catalog import SessionCatalog
from session_core.claude_home import ClaudeHome, find_transcript
from session_core.history_lines import read_claude_history
from session_core.roots import ApprovedRoots
from session_core.runner import TurnRunner
from storage import ChatKey, Database
from tests.fakes.anthropic import FakeAnthropic, Reply
from tests.fakes.claude_cli import isolated_claude_env
from tests.fakes.memory_surface import MemorySurface

PROMPTS_PER_DOOR = 20
APPROVAL_RUNS = 5


def seen(surface: MemorySurface) -> str:
    return "\n".join(m.display for m in surface.messages)


async def until(check: object, timeout_s: float = 120.0) -> None:
    assert callable(check)
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.01)


def chain_ok(transcript: Path) -> tuple[bool, int]:
    """Every line parses; every parentUuid names an earlier uuid; one root."""
    seen_ids: set[str] = set()
    roots = 0
    lines = transcript.read_text().splitlines()
    for line in lines:
        entry = json.loads(line)
        uid, parent = entry.get("uuid"), entry.get("parentUuid", "absent")
        if uid is None:
            continue
        if parent is None:
            roots += 1
        elif parent != "absent" and parent not in seen_ids:
            return False, len(lines)
        seen_ids.add(uid)
    return roots == 1, len(lines)


async def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="baton-bench-"))
    with FakeAnthropic() as fake:
        env = isolated_claude_env(root / "claude", fake.url)
        os.environ["CLAUDE_CONFIG_DIR"] = str(env.config_dir)
        home = ClaudeHome(env.config_dir)
        database = await Database.open(root / "data" / "baton.sqlite3")
        runner = TurnRunner(home, SessionCatalog(home), base_env=env.env, claims_dir=root / "c")
        chats = ChatDispatcher(
            runner=runner,
            catalog=SessionCatalog(home),
            roots=ApprovedRoots((env.project,)),
            database=database,
            policy=ChatPolicy(
                allowed_users=frozenset({("telegram", "1"), ("discord", "2")}),
                verbosity=0,
            ),
            inbox_dir=root / "inbox",
        )
        try:
            await hammer(chats, fake, env.config_dir, home)
            await approvals(chats, fake, env.project)
        finally:
            await chats.aclose()
            await runner.aclose()
            await database.close()


async def hammer(
    chats: ChatDispatcher, fake: FakeAnthropic, config: Path, home: ClaudeHome
) -> None:
    tg, dc = Sender("telegram", "1"), Sender("discord", "2")
    tg_chat, dc_chat = ChatKey.of("telegram", 1), ChatKey.of("discord", 2)
    tg_surface, dc_surface = MemorySurface(), MemorySurface(surface_id="memory:dc")
    await chats.on_text(tg_surface, tg_chat, tg, "seed the session")
    await until(lambda: "to: seed the session" in seen(tg_surface))
    sid = read_claude_history(config / "history.jsonl")[0].session_id
    assert sid is not None
    await chats.db.preferences.update(tg_chat, pinned_session_id=sid, last_seen_session_id=sid)
    await chats.db.preferences.update(dc_chat, pinned_session_id=sid, last_seen_session_id=sid)
    lines_before = len(read_claude_history(config / "history.jsonl"))

    started = time.perf_counter()
    for i in range(PROMPTS_PER_DOOR):
        await chats.on_text(tg_surface, tg_chat, tg, f"tg-{i:02d}")
        await chats.on_text(dc_surface, dc_chat, dc, f"dc-{i:02d}")
    last = PROMPTS_PER_DOOR - 1
    await until(
        lambda: (
            f"to: tg-{last:02d}" in seen(tg_surface) and f"to: dc-{last:02d}" in seen(dc_surface)
        )
    )
    elapsed = time.perf_counter() - started

    entries = read_claude_history(config / "history.jsonl")
    new = [e.display for e in reversed(entries[: len(entries) - lines_before])]
    in_order = all(
        [d for d in new if d.startswith(p)] == [f"{p}{i:02d}" for i in range(PROMPTS_PER_DOOR)]
        for p in ("tg-", "dc-")
    )
    prompts = [p for p in fake.prompts() if p.startswith(("tg-", "dc-"))]
    answered_in_order = all(
        [m for m in prompts if m.startswith(p)] == [f"{p}{i:02d}" for i in range(PROMPTS_PER_DOOR)]
        for p in ("tg-", "dc-")
    )
    transcript = find_transcript(home, sid)
    assert transcript is not None
    clean, transcript_lines = chain_ok(transcript)
    sessions = {e.session_id for e in entries[: len(entries) - lines_before]}
    print(f"two_doors_turns={2 * PROMPTS_PER_DOOR} completed={len(prompts)} wall_s={elapsed:.1f}")
    print(
        f"history_new_lines={len(new)} expected={2 * PROMPTS_PER_DOOR} "
        f"duplicates={len(new) - len(set(new))} one_session={sessions == {sid}}"
    )
    print(
        f"order_per_door_history={in_order} order_per_door_api={answered_in_order} "
        f"transcript_lines={transcript_lines} transcript_one_chain={clean}"
    )
    ratio = len(prompts) / (2 * PROMPTS_PER_DOOR)
    print(f"completed_ratio={ratio:.2f} (goal 1.00)")


async def approvals(chats: ChatDispatcher, fake: FakeAnthropic, project: Path) -> None:
    """Press → follow-up request vs the same tool call that needs no approval."""
    alice = Sender("telegram", "1")
    pressed: list[float] = []
    baseline: list[float] = []
    for i in range(APPROVAL_RUNS):
        chat = ChatKey.of("telegram", 1000 + i)
        await chats.on_command(MemorySurface(), chat, alice, "new", "")
        # Baseline: a read-only command runs without asking.
        surface = MemorySurface()
        fake.script(Reply.tool_use("Bash", {"command": "echo hi", "description": "e"}), "ok")
        count = len(fake.messages_requests())
        await chats.on_text(surface, chat, alice, "read only")
        await until(
            lambda s=surface, c=count: "ok" in seen(s) and len(fake.messages_requests()) >= c + 2
        )
        first, follow = fake.messages_requests()[count : count + 2]
        baseline.append(follow.received_at - first.received_at)
        # Approval: a mutating command waits for the button.
        fake.script(
            Reply.tool_use("Bash", {"command": f"touch f{i} && echo made", "description": "t"}),
            "done",
        )
        count = len(fake.messages_requests())
        await chats.on_text(surface, chat, alice, "mutate")
        await until(lambda s=surface: s.pending_prompt is not None)
        press_at = time.time()
        surface.choose("Allow once")
        await until(lambda c=count: len(fake.messages_requests()) >= c + 2)
        pressed.append(fake.messages_requests()[count + 1].received_at - press_at)
        await until(lambda s=surface: "done" in seen(s))
        assert (project / f"f{i}").exists()
    press_ms = statistics.median(pressed) * 1000
    base_ms = statistics.median(baseline) * 1000
    print(f"approval_press_to_tool_result_ms={press_ms:.0f} (median of {APPROVAL_RUNS})")
    print(f"no_approval_tool_round_trip_ms={base_ms:.0f} (baseline: tool_use → tool_result)")
    print(f"approval_ratio={press_ms / base_ms:.2f} (press→result vs the unapproved round trip)")


if __name__ == "__main__":
    asyncio.run(main())
