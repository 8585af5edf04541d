"""FakeDiscord: Discord's REST API and gateway at the wire, for the real discord.py.

An aiohttp server on 127.0.0.1 in the test's own event loop::

    async with FakeDiscord() as dc:
        discord.http.Route.BASE = dc.api_url + "/v10"
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(dc.gateway_url)
        ...  # client.login(dc.token); client.connect() in a task
        interaction = await dc.dispatch_slash_command("ask", {"prompt": "hi"})
        reply = await dc.wait_for_message(dc.channel_id(), contains="hi")

It serves one guild with text channels (``channels=``) and human members (``users=``).
It enforces Discord's limits (3-second acknowledgement, one answer per interaction,
2000 characters, 25 choices, custom_id ≤ 100, 5×5 components, 25 select options, thread
names ≤ 100) and rate limits message edits/creates with real 429s; every refused request
is kept in :attr:`FakeDiscord.violations` so a test can assert there were none.

Pieces: limits in ``discord_limits``, state and payloads in ``discord_state``, REST in
``discord_rest``, interactions and webhooks in ``discord_interactions``, the websocket in
``discord_gateway``.
"""

from __future__ import annotations

import asyncio
import mimetypes
import socket
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.discord_gateway import Gateway, GatewayConnection
from tests.fakes.discord_interactions import (
    Callback,
    DispatchedInteraction,
    Interactions,
    require_visible,
)
from tests.fakes.discord_limits import Json, RateLimit, RateLimiter, Violation
from tests.fakes.discord_rest import RestApi, Throttle, make_middleware
from tests.fakes.discord_state import (
    PRIVILEGED_INTENTS,
    DiscordWorld,
    RequestRecord,
    SentMessage,
    ThreadInfo,
    Upload,
)

__all__ = [
    "Callback",
    "DispatchedInteraction",
    "FakeDiscord",
    "RateLimit",
    "RequestRecord",
    "SentMessage",
    "ThreadInfo",
    "Violation",
]

DEFAULT_TOKEN = "fake-discord-bot-token"
DEFAULT_EDIT_LIMIT = RateLimit(5, 5.0, "message")
DEFAULT_CREATE_LIMIT = RateLimit(5, 5.0, "channel")


class FakeDiscord:
    """A fake Discord for end-to-end tests; see the module docstring."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_name: str = "baton",
        guild_name: str = "Baton Test Guild",
        channels: Iterable[str] = ("general", "baton"),
        users: Iterable[str] = ("alice", "bob"),
        heartbeat_interval_ms: int = 41_250,
        interaction_deadline_s: float = 3.0,
        interaction_token_ttl_s: float = 15 * 60.0,
        edit_rate_limit: RateLimit | None = DEFAULT_EDIT_LIMIT,
        create_rate_limit: RateLimit | None = DEFAULT_CREATE_LIMIT,
        advertise_rate_limits: bool = False,
        privileged_intents: int = PRIVILEGED_INTENTS,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        """``advertise_rate_limits`` adds X-RateLimit-* headers to successful answers, as
        Discord does; discord.py then paces itself and 429s become rare. Off by default so
        that a product editing too fast meets real 429s (counted in :attr:`rate_limited`).
        ``privileged_intents`` are the ones "enabled in the developer portal": identifying
        with another privileged intent closes the gateway with 4014, as Discord does.
        """
        self.world = DiscordWorld(
            token=token,
            bot_name=bot_name,
            guild_name=guild_name,
            channel_names=channels,
            user_names=users,
        )
        self.throttle = Throttle(
            edits=edit_rate_limit,
            creates=create_rate_limit,
            advertise=advertise_rate_limits,
            limiter=rate_limiter,
        )
        self.gateway = Gateway(
            self.world,
            heartbeat_interval_ms=heartbeat_interval_ms,
            privileged_intents=privileged_intents,
        )
        self.world.emit = self.gateway.dispatch
        self.interactions = Interactions(
            self.world,
            self.throttle,
            deadline_s=interaction_deadline_s,
            token_ttl_s=interaction_token_ttl_s,
        )
        self._rest = RestApi(
            self.world,
            self.throttle,
            gateway_url=lambda: self.gateway_url,
            application_flags=self.gateway.application_flags,
        )
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(middlewares=[make_middleware(self.world, self.throttle)])
        app.add_routes(self._rest.routes())
        app.add_routes(self.interactions.routes())
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/resume", self.gateway.handle)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._runner = runner
        self.world.attachment_base = f"http://127.0.0.1:{self._port}/attachments"
        self.gateway.resume_url = f"ws://127.0.0.1:{self._port}/resume"

    async def stop(self) -> None:
        if self._runner is None:
            return
        await self.gateway.close_all()
        async with asyncio.timeout(5):
            await self._runner.cleanup()
        self._runner = None

    # -- what the product is pointed at ----------------------------------------------

    @property
    def api_url(self) -> str:
        """``DISCORD_API_URL``; discord.py's ``Route.BASE`` must be this plus ``/v10``."""
        return f"http://127.0.0.1:{self._port}/api"

    @property
    def gateway_url(self) -> str:
        """``DISCORD_GATEWAY_URL`` (``DiscordWebSocket.DEFAULT_GATEWAY``)."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """What READY names as ``resume_gateway_url``; discord.py resumes there."""
        return self.gateway.resume_url

    # -- identities ----------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.world.token

    @property
    def bot_user_id(self) -> int:
        return self.world.bot.id

    @property
    def application_id(self) -> int:
        """Equal to the bot's user id, as for every modern Discord application."""
        return self.world.application_id

    @property
    def guild_id(self) -> int:
        return self.world.guild_id

    def channel_id(self, name: str | None = None) -> int:
        """The id of text channel ``name`` (default: the first channel)."""
        if name is None:
            return next(c.id for c in self.world.channels.values() if not c.is_thread)
        return self.world.channel_by_name(name).id

    def user_id(self, name: str | None = None) -> int:
        """The id of member ``name`` (default: the first human member)."""
        for user in self.world.users.values():
            if not user.bot and (name is None or user.name == name):
                return user.id
        raise KeyError(f"no member named {name!r}")

    def add_user(self, name: str, user_id: int | None = None) -> int:
        return self.world.add_user(name, user_id).id

    # -- gateway hooks ---------------------------------------------------------------

    async def disconnect_gateway(self, code: int = 4000, *, resumable: bool = True) -> int:
        """Drop the bot's gateway socket(s) with close ``code``; returns how many.

        With ``resumable=False`` the session is forgotten, so the client's RESUME gets
        INVALID_SESSION and it must IDENTIFY again. Events dispatched while the client
        is away are kept and replayed on RESUME.
        """
        dropped = self.gateway.disconnect(code, resumable=resumable)
        await asyncio.sleep(0)
        return dropped

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT, which discord.py answers by reconnecting and resuming."""
        self.gateway.request_reconnect()

    @property
    def identify_count(self) -> int:
        return self.gateway.identify_count

    @property
    def resume_count(self) -> int:
        """RESUME ops received (successful or not); see :attr:`resumed_count`."""
        return self.gateway.resume_count

    @property
    def resumed_count(self) -> int:
        return self.gateway.resumed_count

    @property
    def invalid_session_count(self) -> int:
        return self.gateway.invalid_session_count

    @property
    def heartbeat_count(self) -> int:
        return self.gateway.heartbeat_count

    @property
    def gateway_connections(self) -> list[GatewayConnection]:
        return list(self.gateway.connections)

    @property
    def gateway_frames_sent(self) -> Counter[str]:
        """Frames sent per encoding: ``"zlib-stream"`` (binary, deflated) or ``"text"``."""
        return Counter(self.gateway.frames_sent)

    @property
    def gateway_close_codes(self) -> list[int | None]:
        """The close code of every gateway socket that ended, in order."""
        return list(self.gateway.close_codes)

    @property
    def gateway_connected(self) -> bool:
        """True while an identified (or resumed) socket is attached to a session."""
        return self.gateway.connected

    @property
    def session_intents(self) -> list[int]:
        return self.gateway.session_intents

    # -- acting as users -------------------------------------------------------------

    async def _settle(self) -> None:
        """Let REST answers reach the client before a user clicks.

        discord.py registers a view only once its send/respond call has returned; a
        person cannot click a button before the message is on screen, so a click waits
        for in-flight requests to finish and the client to read their answers.
        """
        await self.wait_until(lambda: self.world.in_flight == 0, timeout=2, what="idle REST")
        await asyncio.sleep(0.02)

    def _require_session(self) -> None:
        if not self.gateway.session_intents:
            raise RuntimeError("no bot session on the fake gateway: wait for IDENTIFY first")

    async def dispatch_slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
    ) -> DispatchedInteraction:
        """INTERACTION_CREATE type 2 for registered command ``name`` ("group sub" for
        subcommands). Option values are plain Python values, typed and checked against
        the registered definition (ints for integer, ids for user/channel/role options,
        which are resolved as Discord does); a wrong name, type or choice raises
        ValueError/LookupError here, since the Discord client would never send it.
        """
        self._require_session()
        interaction = self.interactions.slash(
            name,
            options or {},
            user_id=user_id or self.user_id(),
            channel_id=channel_id or self.channel_id(),
            guild_id=guild_id or self.guild_id,
        )
        await asyncio.sleep(0)
        return interaction

    async def dispatch_autocomplete(
        self,
        name: str,
        focused_option: str,
        value: str,
        options: Mapping[str, Any] | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
    ) -> DispatchedInteraction:
        """INTERACTION_CREATE type 4: the user typed ``value`` into ``focused_option``."""
        self._require_session()
        interaction = self.interactions.autocomplete(
            name,
            focused_option,
            value,
            options or {},
            user_id=user_id or self.user_id(),
            channel_id=channel_id or self.channel_id(),
            guild_id=guild_id or self.guild_id,
        )
        await asyncio.sleep(0)
        return interaction

    async def click_button(
        self, message: SentMessage | int, custom_id: str, user_id: int | None = None
    ) -> DispatchedInteraction:
        """INTERACTION_CREATE type 3 for an enabled button on the message's *current* state
        (after REST traffic settles: see :meth:`_settle`)."""
        return await self._component(message, custom_id, None, user_id)

    async def select(
        self,
        message: SentMessage | int,
        custom_id: str,
        values: Sequence[str],
        user_id: int | None = None,
    ) -> DispatchedInteraction:
        """INTERACTION_CREATE type 3 choosing ``values`` in a select menu (checked against
        its options and min/max values)."""
        return await self._component(message, custom_id, list(values), user_id)

    async def _component(
        self,
        message: SentMessage | int,
        custom_id: str,
        values: list[str] | None,
        user_id: int | None,
    ) -> DispatchedInteraction:
        self._require_session()
        await self._settle()
        interaction = self.interactions.component(
            message, custom_id, values, user_id=user_id or self.user_id()
        )
        await asyncio.sleep(0)
        return interaction

    async def send_user_message(
        self,
        channel_id: int,
        user_id: int | None,
        content: str,
        *,
        attachments: Mapping[str, bytes] | None = None,
        stickers: Sequence[int] = (),
        voice: bytes | None = None,
        voice_duration_s: float = 2.0,
    ) -> SentMessage:
        """A member posts ``content`` (and files, and ``stickers`` by id) in a channel or
        thread: MESSAGE_CREATE,
        whose text reaches the bot only with the message-content intent (or when it
        mentions the bot). Stored even when no bot is connected, like real history.

        Audio files get their audio content type; ``voice`` makes a voice message (the
        IS_VOICE_MESSAGE flag, one ``voice-message.ogg`` with a duration, no text)."""
        world = self.world
        channel = world.channel(channel_id)
        user = world.user(user_id or self.user_id())
        require_visible(channel, user.id)
        if channel.is_thread and channel.type == 11:
            channel.members.add(user.id)
        world.unarchive_for_send(channel)
        uploads = [
            Upload(index, filename, _upload_type(filename), data)
            for index, (filename, data) in enumerate((attachments or {}).items())
        ]
        body: Json = {"content": content}
        if stickers:
            body["sticker_ids"] = [str(s) for s in stickers]
        if voice is not None:
            uploads = [Upload(0, "voice-message.ogg", "audio/ogg", voice, voice_duration_s)]
            body = {"content": "", "flags": IS_VOICE_MESSAGE}
        message = world.create_message(channel, author_id=user.id, body=body, uploads=uploads)
        await asyncio.sleep(0)
        return world.snapshot(message)

    # -- inspection ------------------------------------------------------------------

    def registered_commands(self, guild_id: int | None = None) -> list[Json]:
        """Commands as stored by the last bulk overwrite: global, or for ``guild_id``."""
        return list(self.world.commands.get(guild_id, []))

    def messages(self, channel_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """Every message in the channel or thread, oldest first, in its current state;
        interaction responses and follow-ups (ephemeral ones too) included."""
        return [
            self.world.snapshot(m)
            for m in self.world.messages.values()
            if m.channel_id == channel_id and (include_deleted or not m.deleted)
        ]

    def message(self, message_id: int) -> SentMessage:
        return self.world.snapshot(self.world.messages[message_id])

    def threads(self, parent_id: int | None = None) -> list[ThreadInfo]:
        return [
            self.world.thread_info(c)
            for c in self.world.channels.values()
            if c.is_thread and (parent_id is None or c.parent_id == parent_id)
        ]

    @property
    def dispatched_interactions(self) -> list[DispatchedInteraction]:
        return self.interactions.dispatched

    def callbacks(self, interaction: DispatchedInteraction | None = None) -> list[Callback]:
        """Callback requests (accepted and refused), for one interaction or all."""
        return [
            c
            for c in self.interactions.callbacks
            if interaction is None or c.interaction_id == interaction.id
        ]

    def original_response(self, interaction: DispatchedInteraction) -> SentMessage | None:
        """The message the interaction's response created or updated, current state."""
        message_id = self.interactions.original_message_id(interaction.id)
        return None if message_id is None else self.message(message_id)

    @property
    def requests(self) -> list[RequestRecord]:
        return list(self.world.requests)

    @property
    def route_counts(self) -> Counter[str]:
        """REST requests per route template, e.g. ``"POST /channels/{channel_id}/messages"``."""
        return Counter(self.world.route_counts)

    @property
    def rate_limited(self) -> Counter[str]:
        """429 answers per route template (discord.py retries them by itself)."""
        return Counter(self.world.rate_limited)

    @property
    def rate_limited_total(self) -> int:
        return sum(self.world.rate_limited.values())

    def typing_count(self, channel_id: int) -> int:
        return self.world.typing[channel_id]

    @property
    def violations(self) -> list[Violation]:
        """Refused requests (limits, double or late acknowledgement...) plus interactions
        left unanswered past the deadline (kind ``"unanswered"``)."""
        unanswered = [
            Violation(
                "unanswered",
                "INTERACTION_CREATE",
                f"interaction {i.id} ({i.name or i.custom_id}) never acknowledged",
                i.dispatched_at + self.interactions.deadline_s,
            )
            for i in self.interactions.unanswered()
        ]
        return [*self.world.violations, *unanswered]

    @property
    def late_acks(self) -> list[Violation]:
        return [v for v in self.world.violations if v.kind == "late_ack"]

    # -- bounded waits -----------------------------------------------------------------

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the bound is the point of this API
        what: str = "condition",
    ) -> None:
        """Wait (at most ``timeout`` s) until ``predicate()`` holds; it is re-checked on
        every change of the fake's state (requests, messages, gateway traffic)."""
        try:
            async with asyncio.timeout(timeout):
                await self.world.wait_until(predicate)
        except TimeoutError:
            raise TimeoutError(f"fake Discord: {what} not reached within {timeout}s") from None

    async def wait_for_message(
        self,
        channel_id: int,
        contains: str | None = None,
        *,
        author_id: int | None = None,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """The first (oldest) live message in the channel whose *current* content contains
        ``contains`` (and matches ``author_id`` / ``predicate``); waits for it to appear
        or to be edited into shape."""
        found: list[SentMessage] = []

        def match() -> bool:
            for message in self.messages(channel_id):
                if contains is not None and contains not in message.content:
                    continue
                if author_id is not None and message.author_id != author_id:
                    continue
                if predicate is not None and not predicate(message):
                    continue
                found.append(message)
                return True
            return False

        try:
            await self.wait_until(match, timeout=timeout)
        except TimeoutError:
            seen = [m.content[:80] for m in self.messages(channel_id)]
            raise TimeoutError(
                f"no message containing {contains!r} in channel {channel_id} within "
                f"{timeout}s; messages there: {seen}"
            ) from None
        return found[0]

    async def wait_for_callback(
        self,
        interaction: DispatchedInteraction,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Callback:
        """The first callback request for ``interaction`` (accepted or refused)."""
        await self.wait_until(
            lambda: bool(self.callbacks(interaction)),
            timeout=timeout,
            what=f"a callback for interaction {interaction.id}",
        )
        return self.callbacks(interaction)[0]

    async def wait_for_thread(
        self,
        parent_id: int | None = None,
        *,
        name_contains: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ThreadInfo:
        def match() -> list[ThreadInfo]:
            return [
                t
                for t in self.threads(parent_id)
                if name_contains is None or name_contains in t.name
            ]

        await self.wait_until(
            lambda: bool(match()), timeout=timeout, what=f"a thread named *{name_contains}*"
        )
        return match()[0]


IS_VOICE_MESSAGE = 1 << 13


def _upload_type(filename: str) -> str:
    """Discord sniffs a type for each upload; the fake knows audio (the bot treats it
    as speech) and leaves everything else opaque, as the older tests expect."""
    guessed = mimetypes.guess_type(filename)[0] or ""
    return guessed if guessed.startswith("audio/") else "application/octet-stream"
