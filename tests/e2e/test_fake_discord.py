"""The fake Discord against the real discord.py 2.7 client: proof that the double is faithful.

Each test runs a real ``discord.Client`` with an ``app_commands.CommandTree`` (defined
here), logged in and connected to a fresh :class:`FakeDiscord` through the only two
patches the product needs (``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``).
Every wait is bounded; discord.py's own ERROR logs fail the test unless expected.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
import yarl
from discord import app_commands

from tests.fakes.discord_api import FakeDiscord, RateLimit

FRUITS = ["apple", "apricot", "banana", "blackberry", "cherry", "grape", "mango", "peach"]


class Changes:
    """Wakes waiters when the bot's client-side state (which the fake cannot see) changes."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def bump(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def bump_threadsafe(self) -> None:
        self._loop.call_soon_threadsafe(self.bump)

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._event.wait()


class ErrorLog(logging.Handler):
    """Collects discord.py's ERROR records (it logs, rather than raises, most failures)."""

    def __init__(self, changes: Changes) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._changes = changes

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._changes.bump_threadsafe()  # keep-alive threads log too

    def take(self) -> list[str]:
        messages = [r.getMessage() for r in self.records]
        self.records.clear()
        return messages


class ConfirmView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=30)

    @discord.ui.button(label="Confirm", custom_id="confirm", style=discord.ButtonStyle.primary)
    async def confirm(
        self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]
    ) -> None:
        await interaction.response.edit_message(
            content=f"confirmed by {interaction.user.name}", view=None
        )

    @discord.ui.select(
        custom_id="flavour",
        options=[discord.SelectOption(label=x, value=x) for x in ("vanilla", "mint", "cocoa")],
    )
    async def flavour(
        self, interaction: discord.Interaction, select: discord.ui.Select[ConfirmView]
    ) -> None:
        await interaction.response.send_message(f"chose {select.values[0]}")


class TooLongIdView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=30)
        self.add_item(discord.ui.Button(label="x", custom_id="x" * 101))


class FakeBot(discord.Client):
    """A minimal bot: slash commands, a view, on_message and resume bookkeeping."""

    def __init__(self, guild_id: int, *, message_content: bool = True) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.guild_id = guild_id
        self.tree = app_commands.CommandTree(self)
        self.received: list[discord.Message] = []
        self.resumed = 0
        self.ready = asyncio.Event()
        self.caught: list[Exception] = []
        self.ack_delay_s = 0.0
        self.changes = Changes()
        _register_commands(self)

    def catch(self, error: Exception) -> None:
        self.caught.append(error)
        self.changes.bump()

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=discord.Object(self.guild_id))
        await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before every re-IDENTIFY (Discord's identify rate limit);
        the fake has no such limit, so the tests skip the wait."""

    async def on_ready(self) -> None:
        self.ready.set()
        self.changes.bump()

    async def on_resumed(self) -> None:
        self.resumed += 1
        self.changes.bump()

    async def on_message(self, message: discord.Message) -> None:
        self.received.append(message)
        self.changes.bump()


def _register_commands(bot: FakeBot) -> None:
    tree = bot.tree
    guild = discord.Object(bot.guild_id)

    @tree.command(name="ping", description="A global command")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    @tree.command(name="echo", description="Repeat a text", guild=guild)
    async def echo(interaction: discord.Interaction, text: str, times: int = 1) -> None:
        await interaction.response.send_message(" ".join([text] * times))

    @tree.command(name="greet", description="Greet a member", guild=guild)
    async def greet(interaction: discord.Interaction, who: discord.Member) -> None:
        await interaction.response.send_message(f"hello {who.name}")

    @tree.command(name="slow", description="Defer, follow up, edit", guild=guild)
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("part 1")
        await interaction.edit_original_response(content="part 1, edited")
        await interaction.followup.send("part 2")

    async def fruit_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)]

    async def too_many_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"c{i}", value=f"c{i}") for i in range(30)]

    @tree.command(name="pick", description="Pick a fruit", guild=guild)
    @app_commands.autocomplete(fruit=fruit_choices)
    async def pick(interaction: discord.Interaction, fruit: str) -> None:
        await interaction.response.send_message(f"picked {fruit}")

    @tree.command(name="flood", description="Autocomplete with too many choices", guild=guild)
    @app_commands.autocomplete(item=too_many_choices)
    async def flood(interaction: discord.Interaction, item: str) -> None:
        await interaction.response.send_message(item)

    @tree.command(name="buttons", description="A message with components", guild=guild)
    async def buttons(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("please confirm", view=ConfirmView())

    @tree.command(name="badbutton", description="A custom_id over 100 chars", guild=guild)
    async def badbutton(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("bad", view=TooLongIdView())
        except discord.HTTPException as error:
            bot.catch(error)
            await interaction.response.send_message("refused")

    @tree.command(name="thread", description="Open a public thread", guild=guild)
    async def thread(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.defer(thinking=True)
        channel = interaction.channel
        assert isinstance(channel, discord.TextChannel)
        opened = await channel.create_thread(name=name, type=discord.ChannelType.public_thread)
        await opened.send("hello thread")
        await interaction.followup.send(f"opened {opened.mention}")

    @tree.command(name="whisper", description="An ephemeral answer", guild=guild)
    async def whisper(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("only you can see this", ephemeral=True)

    @tree.command(name="report", description="Files in a response and a follow-up", guild=guild)
    async def report(interaction: discord.Interaction) -> None:
        data = discord.File(io.BytesIO(b"# report"), "report.md")
        await interaction.response.send_message("report attached", file=data)
        log = discord.File(io.BytesIO(b"x" * 5000), "tool-output.txt")
        await interaction.followup.send("full tool output", file=log)

    @tree.command(name="mute", description="Never answers (a bug)", guild=guild)
    async def mute(interaction: discord.Interaction) -> None:
        return None

    @tree.command(name="late", description="Answers after the bot's ack delay", guild=guild)
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(bot.ack_delay_s)
        try:
            await interaction.response.send_message("too late?")
        except discord.HTTPException as error:
            bot.catch(error)


@dataclass
class Running:
    client: FakeBot
    task: asyncio.Task[None]
    errors: ErrorLog
    shutdown_s: list[float] = field(default_factory=list)


@asynccontextmanager
async def running_bot(
    dc: FakeDiscord, monkeypatch: pytest.MonkeyPatch, *, message_content: bool = True
) -> AsyncIterator[Running]:
    """Point discord.py at the fake, log in, connect in a task, wait for on_ready."""
    monkeypatch.setattr(discord.http.Route, "BASE", dc.api_url + "/v10")
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(dc.gateway_url)
    )
    client = FakeBot(dc.guild_id, message_content=message_content)
    errors = ErrorLog(client.changes)
    logging.getLogger("discord").addHandler(errors)
    running: Running | None = None
    try:
        async with asyncio.timeout(10):
            await client.login(dc.token)
        task = asyncio.create_task(client.connect(), name="discord-connect")
        running = Running(client, task, errors)
        async with asyncio.timeout(10):
            await client.ready.wait()
        yield running
    finally:
        started = time.monotonic()
        async with asyncio.timeout(10):
            await client.close()
            if running is not None:
                await running.task
        if running is not None:
            running.shutdown_s.append(time.monotonic() - started)
        logging.getLogger("discord").removeHandler(errors)
    assert errors.take() == [], "discord.py logged errors"


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
async def bot(dc: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    async with running_bot(dc, monkeypatch) as running:
        yield running


def _text_channel(bot: Running, channel_id: int) -> discord.TextChannel:
    channel = bot.client.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


# -- connection ----------------------------------------------------------------------


async def test_ready_sees_guild_channels_and_synced_commands(dc: FakeDiscord, bot: Running) -> None:
    client = bot.client
    guild = client.get_guild(dc.guild_id)
    assert guild is not None and not guild.unavailable
    assert sorted(c.name for c in guild.text_channels) == ["baton", "general"]
    assert client.user is not None and client.user.id == dc.bot_user_id
    assert client.application_id == dc.application_id
    assert guild.me is not None
    names = sorted(c["name"] for c in dc.registered_commands(dc.guild_id))
    assert names == [
        "badbutton",
        "buttons",
        "echo",
        "flood",
        "greet",
        "late",
        "mute",
        "pick",
        "report",
        "slow",
        "thread",
        "whisper",
    ]
    assert [c["name"] for c in dc.registered_commands()] == ["ping"]
    assert dc.identify_count == 1 and dc.resume_count == 0
    first = dc.gateway_connections[0]
    assert (first.path, first.version, first.encoding) == ("/gateway", "10", "json")
    assert first.compress == "zlib-stream"
    assert dc.gateway_frames_sent["zlib-stream"] >= 3 and dc.gateway_frames_sent["text"] == 0
    assert dc.route_counts["GET /users/@me"] == 1
    assert dc.route_counts["GET /oauth2/applications/@me"] == 1
    assert dc.heartbeat_count >= 1


async def test_bad_token_fails_login(dc: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", dc.api_url + "/v10")
    client = discord.Client(intents=discord.Intents.default())
    try:
        with pytest.raises(discord.LoginFailure):
            async with asyncio.timeout(5):
                await client.login("wrong-token")
    finally:
        await client.close()


async def test_unknown_route_is_json_404(dc: FakeDiscord, bot: Running) -> None:
    route = discord.http.Route("GET", "/no/such/route")
    with pytest.raises(discord.NotFound) as caught:
        await bot.client.http.request(route)
    assert caught.value.status == 404
    assert caught.value.text == "404: Not Found"  # parsed as JSON: ``message`` was extracted
    assert dc.route_counts["GET /no/such/route"] == 1


# -- slash commands --------------------------------------------------------------------


async def test_slash_command_gets_a_response_message(dc: FakeDiscord, bot: Running) -> None:
    channel_id = dc.channel_id("general")
    interaction = await dc.dispatch_slash_command("echo", {"text": "hi", "times": 2})
    callback = await dc.wait_for_callback(interaction)
    assert callback.ok and callback.type == 4
    assert callback.latency_s < 3
    reply = await dc.wait_for_message(channel_id, "hi hi", author_id=dc.bot_user_id)
    assert reply.interaction_id == interaction.id and reply.webhook and not reply.ephemeral
    original = dc.original_response(interaction)
    assert original is not None and original.id == reply.id
    # Discord echoes the bot's own messages over the gateway, too.
    await bot.client.changes.until(lambda: any(m.id == reply.id for m in bot.client.received))
    assert dc.violations == []


async def test_ephemeral_answer_stays_out_of_history(dc: FakeDiscord, bot: Running) -> None:
    channel = _text_channel(bot, dc.channel_id())
    interaction = await dc.dispatch_slash_command("whisper")
    await dc.wait_for_callback(interaction)
    reply = await dc.wait_for_message(channel.id, "only you can see this")
    assert reply.ephemeral
    assert [m async for m in channel.history(limit=10)] == []
    assert all(m.id != reply.id for m in bot.client.received)


async def test_user_option_is_resolved_to_a_member(dc: FakeDiscord, bot: Running) -> None:
    bob = dc.user_id("bob")
    await dc.dispatch_slash_command("greet", {"who": bob}, user_id=dc.user_id("alice"))
    await dc.wait_for_message(dc.channel_id(), "hello bob")
    with pytest.raises(ValueError, match="needs option"):
        await dc.dispatch_slash_command("greet", {})
    with pytest.raises(ValueError, match="takes an integer"):
        await dc.dispatch_slash_command("echo", {"text": "x", "times": "2"})
    with pytest.raises(LookupError, match="not registered"):
        await dc.dispatch_slash_command("nope")


async def test_defer_then_followups_and_edit_original(dc: FakeDiscord, bot: Running) -> None:
    channel_id = dc.channel_id()
    interaction = await dc.dispatch_slash_command("slow", channel_id=channel_id)
    callback = await dc.wait_for_callback(interaction)
    assert callback.type == 5 and callback.ok
    await dc.wait_for_message(channel_id, "part 2")
    original = dc.original_response(interaction)
    assert original is not None
    # The first follow-up filled the "thinking" message; the edit changed it again.
    assert original.content == "part 1, edited" and not original.loading
    assert original.edit_count == 1
    contents = [m.content for m in dc.messages(channel_id)]
    assert contents == ["part 1, edited", "part 2"]
    assert dc.violations == []


# -- autocomplete ----------------------------------------------------------------------


async def test_autocomplete_returns_choices(dc: FakeDiscord, bot: Running) -> None:
    interaction = await dc.dispatch_autocomplete("pick", "fruit", "ap")
    callback = await dc.wait_for_callback(interaction)
    assert callback.ok and callback.type == 8
    assert [c["value"] for c in callback.choices] == ["apple", "apricot"]
    assert dc.violations == []


async def test_more_than_25_choices_are_refused(dc: FakeDiscord, bot: Running) -> None:
    interaction = await dc.dispatch_autocomplete("flood", "item", "")
    callback = await dc.wait_for_callback(interaction)
    assert (callback.status, callback.error_code) == (400, 50035)
    assert [v.kind for v in dc.violations] == ["too_many_choices"]
    # discord.py swallows autocomplete failures into an ERROR log line.
    await bot.client.changes.until(lambda: bool(bot.errors.records))
    assert any("autocomplete" in m for m in bot.errors.take())


# -- components ------------------------------------------------------------------------


async def test_button_and_select_round_trip(dc: FakeDiscord, bot: Running) -> None:
    channel_id = dc.channel_id()
    await dc.dispatch_slash_command("buttons")
    message = await dc.wait_for_message(channel_id, "please confirm")
    assert set(message.custom_ids) == {"confirm", "flavour"}

    choose = await dc.select(message, "flavour", ["mint"])
    assert (await dc.wait_for_callback(choose)).type == 4
    await dc.wait_for_message(channel_id, "chose mint")

    click = await dc.click_button(message, "confirm", user_id=dc.user_id("bob"))
    callback = await dc.wait_for_callback(click)
    assert callback.ok and callback.type == 7
    updated = dc.message(message.id)
    assert updated.content == "confirmed by bob" and updated.components == ()
    with pytest.raises(ValueError, match="no component"):
        await dc.click_button(updated, "confirm")
    assert dc.violations == []


async def test_custom_id_over_100_chars_is_refused(dc: FakeDiscord, bot: Running) -> None:
    interaction = await dc.dispatch_slash_command("badbutton")
    await dc.wait_for_message(dc.channel_id(), "refused")
    assert [c.status for c in dc.callbacks(interaction)] == [400, 200]
    (error,) = bot.client.caught
    assert isinstance(error, discord.HTTPException) and error.code == 50035
    assert "components.0.components.0.custom_id" in error.text
    assert [v.kind for v in dc.violations] == ["custom_id_too_long"]


async def test_component_layout_limits(dc: FakeDiscord, bot: Running) -> None:
    route = discord.http.Route(
        "POST", "/channels/{channel_id}/messages", channel_id=dc.channel_id()
    )

    def button(i: int) -> dict[str, Any]:
        return {"type": 2, "style": 1, "label": str(i), "custom_id": f"b{i}"}

    rows = [{"type": 1, "components": [button(r * 10 + i) for i in range(5)]} for r in range(6)]
    wide = [{"type": 1, "components": [button(i) for i in range(6)]}]
    options = [{"label": str(i), "value": str(i)} for i in range(26)]
    select = [{"type": 1, "components": [{"type": 3, "custom_id": "s", "options": options}]}]
    for components in (rows, wide, select):
        with pytest.raises(discord.HTTPException) as caught:
            await bot.client.http.request(route, json={"content": "x", "components": components})
        assert caught.value.status == 400 and caught.value.code == 50035
    kinds = [v.kind for v in dc.violations]
    assert kinds == ["too_many_rows", "row_too_wide", "too_many_select_options"]
    ok = [{"type": 1, "components": [button(r * 10 + i) for i in range(5)]} for r in range(5)]
    await bot.client.http.request(route, json={"content": "x", "components": ok})


# -- messages, threads, content --------------------------------------------------------


async def test_2001_characters_are_refused(dc: FakeDiscord, bot: Running) -> None:
    channel = _text_channel(bot, dc.channel_id())
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("x" * 2001)
    assert caught.value.status == 400 and caught.value.code == 50035
    assert "2000" in caught.value.text
    await channel.send("x" * 2000)
    assert [v.kind for v in dc.violations] == ["content_too_long"]
    assert [len(m.content) for m in dc.messages(channel.id)] == [2000]


async def test_thread_created_and_used(dc: FakeDiscord, bot: Running) -> None:
    parent = dc.channel_id("baton")
    await dc.dispatch_slash_command("thread", {"name": "session one"}, channel_id=parent)
    thread = await dc.wait_for_thread(parent, name_contains="session one")
    assert not thread.private
    await dc.wait_for_message(thread.id, "hello thread", author_id=dc.bot_user_id)
    await dc.wait_for_message(parent, "opened <#")
    # The deferred response (type 20), then Discord's "thread created" notice (type 18).
    assert [m.type for m in dc.messages(parent)] == [20, 18]

    await dc.send_user_message(thread.id, dc.user_id("alice"), "continue please")
    await bot.client.changes.until(
        lambda: any(m.content == "continue please" for m in bot.client.received)
    )
    message = next(m for m in bot.client.received if m.content == "continue please")
    assert isinstance(message.channel, discord.Thread) and message.channel.id == thread.id
    assert message.channel.parent_id == parent

    await message.channel.edit(archived=True)
    assert dc.threads(parent)[0].archived
    await message.channel.send("a reply unarchives it")
    assert not dc.threads(parent)[0].archived
    assert dc.violations == []


async def test_thread_from_a_user_message(dc: FakeDiscord, bot: Running) -> None:
    sent = await dc.send_user_message(dc.channel_id(), None, "start a thread here")
    await bot.client.changes.until(lambda: any(m.id == sent.id for m in bot.client.received))
    message = next(m for m in bot.client.received if m.id == sent.id)
    thread = await message.create_thread(name="from a message")
    assert thread.id == sent.id  # Discord gives the thread its starter message's id
    info = dc.threads()[0]
    assert (info.starter_message_id, info.private) == (sent.id, False)
    await thread.send("in the thread")
    await dc.wait_for_message(thread.id, "in the thread")
    with pytest.raises(discord.HTTPException) as caught:
        await message.create_thread(name="again")
    assert caught.value.code == 160004


async def test_global_command_dispatch(dc: FakeDiscord, bot: Running) -> None:
    interaction = await dc.dispatch_slash_command("ping")
    assert (await dc.wait_for_callback(interaction)).ok
    await dc.wait_for_message(dc.channel_id(), "pong")


async def test_private_threads_are_invisible_to_users(dc: FakeDiscord, bot: Running) -> None:
    channel = _text_channel(bot, dc.channel_id())
    thread = await channel.create_thread(name="hidden")  # discord.py's default: private
    assert dc.threads()[0].private
    with pytest.raises(ValueError, match="cannot see private thread"):
        await dc.send_user_message(thread.id, dc.user_id("alice"), "hello?")
    await thread.send(f"<@{dc.user_id('alice')}> you are in")
    await dc.send_user_message(thread.id, dc.user_id("alice"), "hello!")
    with pytest.raises(discord.HTTPException, match="between 1 and 100"):
        await channel.create_thread(name="n" * 101, type=discord.ChannelType.public_thread)


async def test_user_message_reaches_on_message_with_content(dc: FakeDiscord, bot: Running) -> None:
    sent = await dc.send_user_message(dc.channel_id(), dc.user_id("alice"), "hello bot")
    await bot.client.changes.until(lambda: any(m.id == sent.id for m in bot.client.received))
    message = next(m for m in bot.client.received if m.id == sent.id)
    assert message.content == "hello bot"
    assert message.author.id == dc.user_id("alice") and not message.author.bot


async def test_without_message_content_intent_text_is_empty(
    dc: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(dc, monkeypatch, message_content=False) as bot:
        plain = await dc.send_user_message(dc.channel_id(), None, "secret text")
        mention = await dc.send_user_message(dc.channel_id(), None, f"<@{dc.bot_user_id}> hi")
        await bot.client.changes.until(
            lambda: {m.id for m in bot.client.received} >= {plain.id, mention.id}
        )
        by_id = {m.id: m for m in bot.client.received}
        assert by_id[plain.id].content == ""
        assert by_id[mention.id].content == f"<@{dc.bot_user_id}> hi"
        assert dc.message(plain.id).content == "secret text"


async def test_attachment_reaction_typing(dc: FakeDiscord, bot: Running) -> None:
    channel = _text_channel(bot, dc.channel_id())
    async with channel.typing():
        sent = await channel.send(
            "log attached", file=discord.File(io.BytesIO(b"tool output"), "out.txt")
        )
    await sent.add_reaction("👍")
    stored = dc.message(sent.id)
    assert [(a.filename, a.data) for a in stored.attachments] == [("out.txt", b"tool output")]
    assert stored.reactions == ("👍",)
    assert dc.typing_count(channel.id) >= 1
    assert await sent.attachments[0].read() == b"tool output"
    edited = await sent.edit(content="log attached (edited)")
    assert dc.message(sent.id).content == "log attached (edited)"
    assert [a.filename for a in edited.attachments] == ["out.txt"]

    await dc.dispatch_slash_command("report")
    followup = await dc.wait_for_message(channel.id, "full tool output")
    response = await dc.wait_for_message(channel.id, "report attached")
    assert [(a.filename, a.data) for a in response.attachments] == [("report.md", b"# report")]
    assert [len(a.data) for a in followup.attachments] == [5000]
    assert dc.violations == []


# -- limits on answering ---------------------------------------------------------------


async def test_interaction_answered_once(dc: FakeDiscord, bot: Running) -> None:
    interaction = await dc.dispatch_slash_command("echo", {"text": "once"})
    await dc.wait_for_message(dc.channel_id(), "once")
    url = f"{dc.api_url}/v10/interactions/{interaction.id}/{interaction.token}/callback"
    body = {"type": 4, "data": {"content": "twice"}}
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        assert response.status == 400
        assert response.headers["Content-Type"] == "application/json"
        assert (await response.json())["code"] == 40060
    assert [v.kind for v in dc.violations] == ["double_ack"]


async def test_late_acknowledgement_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord(interaction_deadline_s=0.2) as dc, running_bot(dc, monkeypatch) as bot:
        bot.client.ack_delay_s = 0.3
        interaction = await dc.dispatch_slash_command("late")
        callback = await dc.wait_for_callback(interaction)
        assert (callback.status, callback.error_code) == (404, 10062)
        assert callback.latency_s > 0.2
        await bot.client.changes.until(lambda: bool(bot.client.caught))
        assert isinstance(bot.client.caught[0], discord.NotFound)
        assert [v.kind for v in dc.late_acks] == ["late_ack"]
        ignored = await dc.dispatch_slash_command("mute")
        await dc.wait_until(lambda: bool(dc.interactions.unanswered()), timeout=2)
        assert [v.kind for v in dc.violations] == ["late_ack", "unanswered"]
        assert [i.id for i in dc.interactions.unanswered()] == [ignored.id]


async def test_fast_edits_meet_429_and_discord_py_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = RateLimit(limit=2, per_s=0.3, scope="message")
    async with FakeDiscord(edit_rate_limit=fast) as dc, running_bot(dc, monkeypatch) as bot:
        channel = _text_channel(bot, dc.channel_id())
        message = await channel.send("v0")
        for n in range(1, 6):
            message = await message.edit(content=f"v{n}")
        assert dc.message(message.id).content == "v5"
        assert dc.message(message.id).edit_count == 5
        route = "PATCH /channels/{channel_id}/messages/{message_id}"
        assert dc.rate_limited[route] >= 1 and dc.rate_limited_total == dc.rate_limited[route]
        assert dc.route_counts[route] == 5 + dc.rate_limited[route]
        assert dc.violations == []


async def test_advertised_limits_let_discord_py_pace_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = RateLimit(limit=2, per_s=0.3, scope="message")
    async with (
        FakeDiscord(edit_rate_limit=fast, advertise_rate_limits=True) as dc,
        running_bot(dc, monkeypatch) as bot,
    ):
        channel = _text_channel(bot, dc.channel_id())
        message = await channel.send("v0")
        started = time.monotonic()
        for n in range(1, 6):
            message = await message.edit(content=f"v{n}")
        assert time.monotonic() - started >= 0.5  # two windows waited out, client-side
        assert dc.message(message.id).content == "v5"
        assert dc.rate_limited_total == 0


# -- gateway resilience --------------------------------------------------------------


async def test_disconnect_then_resume_replays_missed_events(dc: FakeDiscord, bot: Running) -> None:
    assert await dc.disconnect_gateway(code=4000) == 1
    missed = await dc.send_user_message(dc.channel_id(), dc.user_id("bob"), "while you were away")
    await dc.wait_until(lambda: dc.resumed_count == 1, what="RESUME")
    await bot.client.changes.until(lambda: any(m.id == missed.id for m in bot.client.received))
    await bot.client.changes.until(lambda: bot.client.resumed == 1)
    assert (dc.identify_count, dc.resume_count) == (1, 1)
    assert dc.gateway_connections[-1].path == "/resume"  # READY's resume_gateway_url
    interaction = await dc.dispatch_slash_command("echo", {"text": "still here"})
    assert (await dc.wait_for_callback(interaction)).ok


async def test_reconnect_opcode_leads_to_resume(dc: FakeDiscord, bot: Running) -> None:
    dc.request_reconnect()
    await dc.wait_until(lambda: dc.resumed_count == 1, what="RESUME after op 7")
    assert dc.identify_count == 1
    await bot.client.changes.until(lambda: bot.client.resumed == 1)


async def test_invalidated_session_identifies_again(dc: FakeDiscord, bot: Running) -> None:
    await dc.disconnect_gateway(code=4000, resumable=False)
    await dc.wait_until(lambda: dc.identify_count == 2, timeout=10, what="second IDENTIFY")
    assert dc.invalid_session_count == 1
    await dc.wait_until(lambda: dc.gateway_connected, what="reconnected")
    await bot.client.changes.until(lambda: bot.client.is_ready())
    interaction = await dc.dispatch_slash_command("echo", {"text": "again"})
    assert (await dc.wait_for_callback(interaction)).ok


async def test_disallowed_privileged_intent_closes_with_4014(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FakeDiscord(privileged_intents=0) as dc:
        monkeypatch.setattr(discord.http.Route, "BASE", dc.api_url + "/v10")
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(dc.gateway_url)
        )
        client = FakeBot(dc.guild_id, message_content=True)
        try:
            async with asyncio.timeout(10):
                await client.login(dc.token)
                with pytest.raises(discord.PrivilegedIntentsRequired):
                    await client.connect()
        finally:
            await client.close()


async def test_clean_bounded_shutdown(dc: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_bot(dc, monkeypatch) as bot:
        assert dc.gateway_connected
    assert bot.task.done() and bot.task.exception() is None
    assert bot.shutdown_s[0] < 2.0
    await dc.wait_until(lambda: not dc.gateway_connected, what="socket closed")
    # discord.py's close() races its own poll loop, which closes first with 4000, so on
    # Discord (and here) the session stays resumable rather than ending as a 1000 would.
    assert dc.gateway_close_codes == [4000]
