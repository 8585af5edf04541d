"""TelegramSurface details the shared contract does not pin down, read from the fake:
pacing under real flood limits, "not modified", a live message the person deleted,
keyboards, prompts that are cancelled, files that cannot be sent."""

from __future__ import annotations

import asyncio

import pytest

from chat_adapters.choices import Choice, ChoicePrompt, tool_approval_prompt
from chat_adapters.telegram.surface import TelegramSurface
from tests.e2e.telegram.harness import USER, WAIT_S, telegram_harness
from tests.fakes.telegram_api import RateLimits


async def test_updates_are_paced_and_coalesced_under_real_flood_limits() -> None:
    async with telegram_harness(rate_limits=RateLimits(), min_interval_s=1.0) as h:
        live = await h.surface.open_live_reply()
        await live.update("w0000")
        mark = h.tg.mark()
        started = asyncio.get_running_loop().time()
        pending = []
        for i in range(1, 30):  # far faster than one a second: most are superseded
            pending.append(asyncio.create_task(live.update(f"w{i:04d}")))
            await asyncio.sleep(0.05)
        await live.finalize("w0030")
        await asyncio.wait_for(asyncio.gather(*pending), WAIT_S)
        elapsed = asyncio.get_running_loop().time() - started
        edits = [c for c in h.tg.calls("editMessageText", since=mark) if c.ok]
        assert h.tg.count_429() == 0
        assert len(edits) <= elapsed + 1, f"{len(edits)} edits in {elapsed:.1f} s"
        assert [m.body for m in h.bot_messages()] == ["w0030"], "the last content landed"


async def test_an_unchanged_update_is_not_an_error() -> None:
    async with telegram_harness() as h:
        live = await h.surface.open_live_reply()
        await live.update("same", ("▸ Bash",))
        await live.update("same", ("▸ Bash",))
        await live.finalize("same", ("▸ Bash",))
        assert any(c.status == 400 for c in h.tg.calls("editMessageText")), "Telegram refused"
        assert [m.body for m in h.bot_messages()] == ["same\n\n▸ Bash"]


async def test_a_deleted_live_message_is_sent_again_when_final() -> None:
    async with telegram_harness() as h:
        live = await h.surface.open_live_reply()
        await live.update("w0001 so far")
        first = h.bot_messages()[0]
        await h.surface.bot.delete_message(USER, first.message_id)  # the person deleted it
        ref = await live.finalize("w0001 so far w0002 done")
        assert ref.message_id != str(first.message_id)
        assert [m.body for m in h.bot_messages()] == ["w0001 so far w0002 done"]


async def test_a_live_message_shows_half_streamed_code_as_code() -> None:
    async with telegram_harness() as h:
        live = await h.surface.open_live_reply()
        await live.update("Here:\n\n```python\nx = 1\n")  # the fence is still open
        message = h.bot_messages()[0]
        assert message.entity_texts("pre") == ["x = 1"]
        assert "```" not in message.body
        await live.finalize("Here:\n\n```python\nx = 1\n```")


async def test_keyboard_rows_and_an_approval_prompt() -> None:
    async with telegram_harness() as h:
        prompt = tool_approval_prompt(
            "Bash", {"command": "rm -rf build"}, directory="/w", session_scope="rm -rf"
        )
        task = asyncio.create_task(h.surface.ask_choice(prompt))
        shown = await h.tg.wait_for_message(USER, match=lambda m: bool(m.buttons), timeout=WAIT_S)
        rows = [[b.text for b in row] for row in shown.buttons]
        assert rows == [["Allow once"], ["Allow rm -rf for this session"], ["Deny"]]
        assert "rm -rf build" in shown.entity_texts("pre")[0]
        assert all(len((b.callback_data or "").encode()) <= 64 for r in shown.buttons for b in r)
        await h.click("Deny")
        assert (await asyncio.wait_for(task, WAIT_S)).choice_id == "deny"
        assert h.bot_messages()[-1].body.endswith("→ Deny")


async def test_short_labels_share_rows() -> None:
    async with telegram_harness() as h:
        options = tuple(Choice(str(i), f"Option {i}") for i in range(5))
        prompt = ChoicePrompt("Pick", options, timeout_choice="0", timeout_s=30)
        task = asyncio.create_task(h.surface.ask_choice(prompt))
        shown = await h.tg.wait_for_message(USER, match=lambda m: bool(m.buttons), timeout=WAIT_S)
        assert [len(row) for row in shown.buttons] == [3, 2]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_cancelled_prompt_loses_its_buttons_and_says_so() -> None:
    async with telegram_harness() as h:
        prompt = ChoicePrompt(
            "Continue?", (Choice("y", "Yes"), Choice("n", "No")), timeout_choice="n", timeout_s=60
        )
        task = asyncio.create_task(h.surface.ask_choice(prompt))
        shown = await h.tg.wait_for_message(USER, match=lambda m: bool(m.buttons), timeout=WAIT_S)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        after = h.tg.message(USER, shown.message_id)
        assert after.buttons == () and "no longer waiting" in after.body


async def test_typed_text_answers_only_a_prompt_that_takes_it() -> None:
    async with telegram_harness() as h:
        closed = ChoicePrompt("Pick one", (Choice("a", "A"),), timeout_choice="a", timeout_s=60)
        task = asyncio.create_task(h.surface.ask_choice(closed))
        await h.tg.wait_for_message(USER, match=lambda m: bool(m.buttons), timeout=WAIT_S)
        await h.reply("not an answer")
        assert h.typed == ["not an answer"] and not task.done()
        await h.click("A")
        assert (await asyncio.wait_for(task, WAIT_S)).choice_id == "a"


async def test_files_that_cannot_be_sent_are_refused_before_sending() -> None:
    async with telegram_harness() as h:
        with pytest.raises(ValueError, match="empty"):
            await h.surface.deliver_file("empty.txt", b"")
        too_big = h.surface.capabilities.max_file_bytes + 1
        with pytest.raises(ValueError, match="bytes"):
            await h.surface.deliver_file("big.bin", b"\0" * too_big)
        await h.surface.deliver_file("notes.txt", b"hello", "c" * 2000)
        sent = h.bot_messages()
        assert len(sent) == 1 and sent[0].document is not None
        assert len(sent[0].caption or "") <= 1024
        assert not h.tg.calls("sendMessage")


async def test_a_live_message_moves_below_what_was_said_after_it() -> None:
    async with telegram_harness() as h:
        live = await h.surface.open_live_reply()
        await live.update("w0001 first part")
        above = h.bot_messages()[0]
        await h.surface.send_text("⏳ Queued: runs after 1 earlier message.")
        await live.update("w0001 first part w0002")
        moved = h.bot_messages()
        assert [m.body for m in moved] == [
            "⏳ Queued: runs after 1 earlier message.",
            "w0001 first part w0002",
        ]
        assert h.tg.message(USER, above.message_id).deleted

        await h.reply("a message from the person")
        ref = await live.finalize("w0001 first part w0002 w0003")
        last = h.tg.transcript(USER)[-1]
        assert last.from_bot and last.body == "w0001 first part w0002 w0003"
        assert ref.message_id == str(last.message_id)
        assert len([m for m in h.bot_messages() if "w0001" in m.body]) == 1, "moved, not copied"


async def test_typing_repeats_while_a_live_reply_is_open() -> None:
    async with telegram_harness() as h:
        surface = TelegramSurface(
            h.surface.bot, USER, outbox=h.surface.outbox, typing_interval_s=0.1
        )
        live = await surface.open_live_reply()
        await live.update("w0001")
        await h.tg.wait_for(lambda: len(h.tg.chat_actions) >= 3, timeout=WAIT_S, what="typing")
        await live.finalize("w0001 w0002")
        settled = len(h.tg.chat_actions)
        await asyncio.sleep(0.3)
        assert len(h.tg.chat_actions) == settled, "typing stops with the reply"
        assert {a.action for a in h.tg.chat_actions} == {"typing"}
