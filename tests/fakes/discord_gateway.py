"""The fake Discord gateway: a websocket speaking gateway v10 JSON to the real discord.py.

HELLO → (heartbeats ACKed) → IDENTIFY → READY (guild unavailable) → GUILD_CREATE, then
dispatches. Every dispatch gets a sequence number and stays in its session's log, so a
RESUME after a dropped connection replays exactly what the client missed and ends with
RESUMED. ``compress=zlib-stream`` (what discord.py asks for without zstandard) is honoured
with one shared deflate stream per connection and Z_SYNC_FLUSH per frame; other
compressions get plain text frames, which discord.py also accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_limits import Json
from tests.fakes.discord_state import (
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_PRESENCES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    DiscordWorld,
)

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE = 3
OP_VOICE_STATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_INTENTS = 4013
CLOSE_DISALLOWED_INTENTS = 4014

# Application flags: GATEWAY_*_LIMITED, i.e. the privileged intent is switched on.
_APP_FLAG_FOR_INTENT = {
    INTENT_GUILD_PRESENCES: 1 << 13,
    INTENT_GUILD_MEMBERS: 1 << 15,
    INTENT_MESSAGE_CONTENT: 1 << 19,
}


@dataclass(frozen=True, slots=True)
class GatewayConnection:
    """One websocket the client opened: its path (``/gateway`` or ``/resume``) and query."""

    path: str
    compress: str | None
    encoding: str | None
    version: str | None
    at: float


class _Close:
    """Queue sentinel: close the socket after what is queued before it."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class _Connection:
    """Outbound side of one socket: a queue drained by one writer, so frames keep order."""

    def __init__(
        self, ws: web.WebSocketResponse, compress: str | None, frames: Counter[str]
    ) -> None:
        self.ws = ws
        self._frames = frames
        self.queue: asyncio.Queue[Json | _Close] = asyncio.Queue()
        self._deflate = zlib.compressobj() if compress == "zlib-stream" else None
        self.session: _Session | None = None
        self.closed_by_server = False
        self.writer = asyncio.create_task(self._write(), name="fake-discord-gateway-writer")

    def send(self, frame: Json) -> None:
        self.queue.put_nowait(frame)

    def close(self, code: int, reason: str = "") -> None:
        self.closed_by_server = True
        self.queue.put_nowait(_Close(code, reason))

    async def _write(self) -> None:
        while True:
            item = await self.queue.get()
            if isinstance(item, _Close):
                with contextlib.suppress(Exception):
                    await self.ws.close(code=item.code, message=item.reason.encode())
                return
            raw = json.dumps(item, separators=(",", ":"))
            try:
                if self._deflate is not None:
                    data = self._deflate.compress(raw.encode()) + self._deflate.flush(
                        zlib.Z_SYNC_FLUSH
                    )
                    await self.ws.send_bytes(data)
                    self._frames["zlib-stream"] += 1
                else:
                    await self.ws.send_str(raw)
                    self._frames["text"] += 1
            except (ConnectionError, RuntimeError):
                return


@dataclass(slots=True)
class _Session:
    session_id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    log: list[Json] = field(default_factory=list)
    connection: _Connection | None = None


class Gateway:
    """Serves gateway sockets for one :class:`DiscordWorld` and routes its dispatches."""

    def __init__(
        self,
        world: DiscordWorld,
        *,
        heartbeat_interval_ms: int,
        privileged_intents: int,
    ) -> None:
        self.world = world
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.privileged_intents = privileged_intents
        self.resume_url = ""
        self.connections: list[GatewayConnection] = []
        self.identify_count = 0
        self.resume_count = 0
        self.resumed_count = 0
        self.invalid_session_count = 0
        self.heartbeat_count = 0
        self.presence_updates: list[Json] = []
        self.close_codes: list[int | None] = []
        self.frames_sent: Counter[str] = Counter()
        self._sessions: dict[str, _Session] = {}
        self._live: set[_Connection] = set()

    # -- test hooks ----------------------------------------------------------------

    def application_flags(self) -> int:
        """The application's flags as the developer portal's intent switches make them."""
        flags = 0
        for intent, flag in _APP_FLAG_FOR_INTENT.items():
            if self.privileged_intents & intent:
                flags |= flag
        return flags

    @property
    def connected(self) -> bool:
        return any(s.connection is not None for s in self._sessions.values())

    @property
    def session_intents(self) -> list[int]:
        return [s.intents for s in self._sessions.values()]

    def disconnect(self, code: int, *, resumable: bool) -> int:
        """Drop every identified socket with ``code``; returns how many were dropped."""
        dropped = 0
        for session in list(self._sessions.values()):
            connection = session.connection
            if connection is None:
                continue
            session.connection = None
            connection.session = None
            connection.close(code, "fake-discord: disconnect_gateway")
            dropped += 1
            if not resumable:
                del self._sessions[session.session_id]
        self.world.notify()
        return dropped

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client should close and RESUME."""
        for session in self._sessions.values():
            if session.connection is not None:
                session.connection.send({"op": OP_RECONNECT, "d": None, "s": None, "t": None})

    async def close_all(self) -> None:
        for connection in list(self._live):
            connection.close(1001, "fake-discord shutting down")
        writers = [c.writer for c in self._live]
        if writers:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await asyncio.gather(*writers, return_exceptions=True)
        for writer in writers:
            writer.cancel()

    # -- dispatch ------------------------------------------------------------------

    def dispatch(self, event: str, data: Json, intent: int, content_gated: bool) -> None:
        """Send ``event`` to every session whose intents cover it (logged for resume)."""
        for session in self._sessions.values():
            if intent and not session.intents & intent:
                continue
            payload = data
            if content_gated and not session.intents & INTENT_MESSAGE_CONTENT:
                payload = _strip_content(data)
            self._send_dispatch(session, event, payload)

    def _send_dispatch(self, session: _Session, event: str, data: Json) -> None:
        session.seq += 1
        frame = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.log.append(frame)
        if session.connection is not None:
            session.connection.send(frame)

    # -- socket handling -----------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        compress = request.query.get("compress")
        self.connections.append(
            GatewayConnection(
                path=request.path,
                compress=compress,
                encoding=request.query.get("encoding"),
                version=request.query.get("v"),
                at=time.monotonic(),
            )
        )
        connection = _Connection(ws, compress, self.frames_sent)
        self._live.add(connection)
        connection.send(
            {
                "op": OP_HELLO,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake"]},
                "s": None,
                "t": None,
            }
        )
        self.world.notify()
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    if message.type is WSMsgType.BINARY:
                        connection.close(CLOSE_DECODE_ERROR, "Error while decoding payload.")
                    continue
                try:
                    frame = json.loads(message.data)
                except ValueError:
                    connection.close(CLOSE_DECODE_ERROR, "Error while decoding payload.")
                    continue
                self._receive(connection, frame)
        finally:
            self._live.discard(connection)
            self.close_codes.append(ws.close_code)
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
                # A client closing with 1000/1001 ends its session, as on Discord.
                if not connection.closed_by_server and ws.close_code in (1000, 1001):
                    self._sessions.pop(session.session_id, None)
            if not connection.writer.done():
                connection.close(1000)
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    async with asyncio.timeout(1):
                        await connection.writer
                connection.writer.cancel()
            self.world.notify()
        return ws

    def _receive(self, connection: _Connection, frame: Any) -> None:
        op = frame.get("op") if isinstance(frame, dict) else None
        data = frame.get("d") if isinstance(frame, dict) else None
        if op == OP_HEARTBEAT:
            self.heartbeat_count += 1
            connection.send({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == OP_IDENTIFY:
            self._identify(connection, data if isinstance(data, dict) else {})
        elif op == OP_RESUME:
            self._resume(connection, data if isinstance(data, dict) else {})
        elif connection.session is None:
            connection.close(CLOSE_NOT_AUTHENTICATED, "Not authenticated.")
        elif op == OP_PRESENCE:
            self.presence_updates.append(data if isinstance(data, dict) else {})
        elif op == OP_REQUEST_MEMBERS:
            self._members_chunk(connection.session, data if isinstance(data, dict) else {})
        elif op == OP_VOICE_STATE:
            pass
        else:
            connection.close(CLOSE_UNKNOWN_OPCODE, "Unknown opcode.")
        self.world.notify()

    def _identify(self, connection: _Connection, data: Json) -> None:
        self.identify_count += 1
        if connection.session is not None:
            connection.close(CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
            return
        if data.get("token") != self.world.token:
            connection.close(CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            connection.close(CLOSE_INVALID_INTENTS, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            connection.close(CLOSE_DISALLOWED_INTENTS, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        session = _Session(
            session_id=secrets.token_hex(16),
            intents=intents,
            shard=list(shard) if isinstance(shard, list) else None,
        )
        self._sessions[session.session_id] = session
        session.connection = connection
        connection.session = session
        self._send_dispatch(session, "READY", self._ready_payload(session))
        if intents & INTENT_GUILDS:
            self._send_dispatch(session, "GUILD_CREATE", self.world.guild_payload())

    def _resume(self, connection: _Connection, data: Json) -> None:
        self.resume_count += 1
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.world.token:
            self.invalid_session_count += 1
            connection.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        old = session.connection
        if old is not None and old is not connection:
            old.session = None
            old.close(4000, "Session resumed elsewhere.")
        session.connection = connection
        connection.session = session
        seq = data.get("seq")
        last = seq if isinstance(seq, int) else 0
        for frame in session.log:
            if frame["s"] > last:
                connection.send(frame)
        self.resumed_count += 1
        self._send_dispatch(session, "RESUMED", {"_trace": ["fake"]})

    def _ready_payload(self, session: _Session) -> Json:
        world = self.world
        user = world.user_payload(world.bot)
        user.update({"verified": True, "mfa_enabled": False, "email": None})
        flags = self.application_flags()
        payload: Json = {
            "v": 10,
            "user": user,
            "user_settings": {},
            "session_type": "normal",
            "session_id": session.session_id,
            "resume_gateway_url": self.resume_url,
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guilds": [{"id": str(world.guild_id), "unavailable": True}],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "application": {"id": str(world.application_id), "flags": flags},
            "auth": {},
            "_trace": ["fake-discord"],
        }
        if session.shard is not None:
            payload["shard"] = session.shard
        return payload

    def _members_chunk(self, session: _Session, data: Json) -> None:
        world = self.world
        wanted = {int(u) for u in data.get("user_ids") or []}
        query = str(data.get("query") or "")
        users = [
            u
            for u in world.users.values()
            if (not wanted or u.id in wanted) and u.name.startswith(query)
        ]
        chunk: Json = {
            "guild_id": str(world.guild_id),
            "members": [world.member_payload(u) for u in users],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)


def _strip_content(data: Json) -> Json:
    """What a bot without the message-content intent sees of someone else's message."""
    stripped = dict(data)
    stripped.update(content="", embeds=[], attachments=[], components=[])
    stripped.pop("poll", None)
    return stripped
