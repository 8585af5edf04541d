"""The fake Discord REST API (``/api/v10/...``): users, commands, channels, messages, threads.

Every JSON answer has the content type exactly ``application/json``: discord.py parses a
body as JSON only then (``json_or_text``), and aiohttp's ``json_response`` would append
``; charset=utf-8``. Errors carry Discord's ``{"message", "code", "errors"}`` body; unknown
routes answer 404 JSON. A middleware counts every request per route template, answers
429s from the configurable :class:`RateLimit` buckets (with the ``Via`` header discord.py
insists on before it retries), and records the violations behind every refused request.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.discord_limits import (
    ApiError,
    BucketState,
    Json,
    RateLimit,
    RateLimited,
    RateLimiter,
    check_commands,
    check_thread_name,
)
from tests.fakes.discord_state import (
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    ChannelRec,
    DiscordWorld,
    MessageRec,
    RequestRecord,
    Upload,
)

API_PREFIX = "/api/v10"
_FILE_FIELD = re.compile(r"^files\[(\d+)\]$")
_RATELIMIT_KEY = web.RequestKey("fake_discord_ratelimit", BucketState)


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON with ``Content-Type: application/json`` and nothing after it."""
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return web.Response(status=status, body=json.dumps(payload).encode(), headers=all_headers)


def no_content() -> web.Response:
    return web.Response(status=204)


async def read_body(request: web.Request) -> tuple[Json, list[Upload]]:
    """A JSON body, or multipart ``payload_json`` plus ``files[n]`` parts."""
    if request.content_type.startswith("multipart/"):
        payload: Json = {}
        uploads: list[Upload] = []
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            name = part.name or ""
            data = await part.read()
            if name == "payload_json":
                payload = _parse_json(bytes(data))
                continue
            match = _FILE_FIELD.match(name)
            if match is not None:
                uploads.append(
                    Upload(
                        index=int(match.group(1)),
                        filename=part.filename or name,
                        content_type=part.headers.get("Content-Type", "application/octet-stream"),
                        data=bytes(data),
                    )
                )
        return payload, uploads
    raw = await request.read()
    return (_parse_json(raw) if raw.strip() else {}), []


def _parse_json(raw: bytes) -> Json:
    try:
        value = json.loads(raw)
    except ValueError:
        raise ApiError(
            400, 50109, "The request body contains invalid JSON.", violation="invalid_json"
        ) from None
    if not isinstance(value, dict):
        raise ApiError(400, 50109, "The request body contains invalid JSON.", violation="bad_body")
    return value


class Throttle:
    """The rate limits the fake enforces: message edits and message creates."""

    def __init__(
        self,
        *,
        edits: RateLimit | None,
        creates: RateLimit | None,
        advertise: bool,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.edits = edits
        self.creates = creates
        self.advertise = advertise
        self.limiter = limiter or RateLimiter()

    def edit(self, request: web.Request, message: MessageRec) -> None:
        if self.edits is not None:
            key = message.id if self.edits.scope == "message" else message.channel_id
            self._hit(request, f"edit:{key}", self.edits)

    def create(self, request: web.Request, channel: ChannelRec) -> None:
        if self.creates is not None:
            self._hit(request, f"create:{channel.id}", self.creates)

    def _hit(self, request: web.Request, bucket: str, rule: RateLimit) -> None:
        request[_RATELIMIT_KEY] = self.limiter.hit(bucket, rule)


def _route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else request.path
    if template.startswith(API_PREFIX):
        template = template[len(API_PREFIX) :]
    return f"{request.method} {template}"


def _needs_bot_auth(path: str) -> bool:
    return path.startswith(API_PREFIX) and not path.startswith(
        (f"{API_PREFIX}/interactions/", f"{API_PREFIX}/webhooks/")
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_middleware(world: DiscordWorld, throttle: Throttle) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)  # the gateway socket, attachment downloads
        route = _route_of(request)
        response: web.StreamResponse
        world.in_flight += 1
        try:
            if (
                _needs_bot_auth(request.path)
                and request.headers.get("Authorization") != f"Bot {world.token}"
            ):
                raise ApiError(401, 0, "401: Unauthorized")
            response = await handler(request)
            state = request.get(_RATELIMIT_KEY)
            if throttle.advertise and state is not None:
                response.headers.update(state.headers(time.time()))
        except ApiError as error:
            if error.violation is not None:
                world.record_violation(error.violation, route, error.detail)
            response = json_response(error.body(), status=error.status)
        except RateLimited as limited:
            world.rate_limited[route] += 1
            retry_after = math.ceil(limited.state.reset_after * 1000) / 1000
            body = {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": False,
            }
            response = json_response(body, status=429, headers=limited.headers(time.time()))
        except web.HTTPException as error:
            body = {"message": f"{error.status}: {error.reason}", "code": 0}
            response = json_response(body, status=error.status)
        finally:
            world.in_flight -= 1
        world.requests.append(
            RequestRecord(request.method, route, request.path, response.status, time.monotonic())
        )
        world.route_counts[route] += 1
        world.notify()
        return response

    return middleware


class RestApi:
    """Handlers for everything but interactions and webhooks (see discord_interactions)."""

    def __init__(
        self,
        world: DiscordWorld,
        throttle: Throttle,
        *,
        gateway_url: Callable[[], str],
        application_flags: Callable[[], int] = lambda: 0,
    ) -> None:
        self.world = world
        self.throttle = throttle
        self._gateway_url = gateway_url
        self._application_flags = application_flags

    def routes(self) -> list[web.RouteDef]:
        p = API_PREFIX
        return [
            web.get(f"{p}/users/@me", self.get_me),
            web.get(f"{p}/users/{{user_id}}", self.get_user),
            web.get(f"{p}/oauth2/applications/@me", self.get_application),
            web.get(f"{p}/applications/@me", self.get_application),
            web.get(f"{p}/gateway", self.get_gateway),
            web.get(f"{p}/gateway/bot", self.get_gateway_bot),
            web.get(f"{p}/applications/{{application_id}}/commands", self.get_commands),
            web.put(f"{p}/applications/{{application_id}}/commands", self.put_commands),
            web.get(
                f"{p}/applications/{{application_id}}/guilds/{{guild_id}}/commands",
                self.get_commands,
            ),
            web.put(
                f"{p}/applications/{{application_id}}/guilds/{{guild_id}}/commands",
                self.put_commands,
            ),
            web.get(f"{p}/guilds/{{guild_id}}", self.get_guild),
            web.get(f"{p}/guilds/{{guild_id}}/channels", self.get_guild_channels),
            web.get(f"{p}/guilds/{{guild_id}}/threads/active", self.get_active_threads),
            web.get(f"{p}/guilds/{{guild_id}}/members/{{user_id}}", self.get_member),
            web.get(f"{p}/channels/{{channel_id}}", self.get_channel),
            web.patch(f"{p}/channels/{{channel_id}}", self.patch_channel),
            web.get(f"{p}/channels/{{channel_id}}/messages", self.get_messages),
            web.post(f"{p}/channels/{{channel_id}}/messages", self.post_message),
            web.get(f"{p}/channels/{{channel_id}}/messages/{{message_id}}", self.get_message),
            web.patch(f"{p}/channels/{{channel_id}}/messages/{{message_id}}", self.patch_message),
            web.delete(f"{p}/channels/{{channel_id}}/messages/{{message_id}}", self.delete_message),
            web.post(f"{p}/channels/{{channel_id}}/threads", self.post_thread),
            web.post(
                f"{p}/channels/{{channel_id}}/messages/{{message_id}}/threads",
                self.post_thread_from_message,
            ),
            web.put(f"{p}/channels/{{channel_id}}/thread-members/@me", self.join_thread),
            web.put(
                f"{p}/channels/{{channel_id}}/thread-members/{{user_id}}", self.add_thread_member
            ),
            web.put(
                f"{p}/channels/{{channel_id}}/messages/{{message_id}}/reactions/{{emoji}}/@me",
                self.put_reaction,
            ),
            web.delete(
                f"{p}/channels/{{channel_id}}/messages/{{message_id}}/reactions/{{emoji}}/@me",
                self.delete_reaction,
            ),
            web.post(f"{p}/channels/{{channel_id}}/typing", self.post_typing),
            web.get("/attachments/{attachment_id}/{filename}", self.get_attachment),
        ]

    # -- identity ------------------------------------------------------------------

    async def get_me(self, request: web.Request) -> web.Response:
        payload = self.world.user_payload(self.world.bot)
        payload.update({"verified": True, "mfa_enabled": False, "email": None})
        return json_response(payload)

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.world.users.get(_int(request.match_info["user_id"]))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(self.world.user_payload(user))

    async def get_application(self, request: web.Request) -> web.Response:
        world = self.world
        owner = next((u for u in world.users.values() if not u.bot), world.bot)
        return json_response(
            {
                "id": str(world.application_id),
                "name": world.bot.name,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": self._application_flags(),
                "owner": world.user_payload(owner),
                "team": None,
                "bot": world.user_payload(world.bot),
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
            }
        )

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self._gateway_url()})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self._gateway_url(),
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    # -- application commands ------------------------------------------------------

    def _scope(self, request: web.Request) -> int | None:
        if _int(request.match_info["application_id"]) != self.world.application_id:
            raise ApiError(403, 50001, "Missing Access")
        guild = request.match_info.get("guild_id")
        if guild is None:
            return None
        if _int(guild) != self.world.guild_id:
            raise ApiError(403, 50001, "Missing Access")
        return self.world.guild_id

    async def get_commands(self, request: web.Request) -> web.Response:
        return json_response(self.world.commands.get(self._scope(request), []))

    async def put_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        raw = await request.read()
        try:
            commands = json.loads(raw) if raw else []
        except ValueError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
        if not isinstance(commands, list):
            raise ApiError(400, 50035, "Invalid Form Body", violation="bad_body")
        check_commands(commands)
        previous = {(c["name"], c.get("type", 1)): c for c in self.world.commands.get(scope, [])}
        stored: list[Json] = []
        for command in commands:
            kind = int(command.get("type", 1))
            old = previous.get((command["name"], kind))
            entry: Json = {
                "default_member_permissions": None,
                "nsfw": False,
                "contexts": None,
                "integration_types": [0],
                "description": "",
                "options": [],
                **command,
                "id": old["id"] if old else str(self.world.ids.next()),
                "application_id": str(self.world.application_id),
                "version": str(self.world.ids.next()),
                "type": kind,
            }
            if scope is not None:
                entry["guild_id"] = str(scope)
            stored.append(entry)
        self.world.commands[scope] = stored
        self.world.notify()
        return json_response(stored)

    # -- guild and channels --------------------------------------------------------

    def _guild(self, request: web.Request) -> None:
        if _int(request.match_info["guild_id"]) != self.world.guild_id:
            raise ApiError(404, 10004, "Unknown Guild")

    async def get_guild(self, request: web.Request) -> web.Response:
        self._guild(request)
        payload = self.world.guild_payload()
        for key in ("members", "channels", "threads", "voice_states", "presences"):
            payload.pop(key, None)
        return json_response(payload)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        self._guild(request)
        channels = [c for c in self.world.channels.values() if not c.is_thread]
        return json_response([self.world.channel_payload(c) for c in channels])

    async def get_active_threads(self, request: web.Request) -> web.Response:
        self._guild(request)
        threads = [c for c in self.world.channels.values() if c.is_thread and not c.archived]
        return json_response(
            {"threads": [self.world.channel_payload(c) for c in threads], "members": []}
        )

    async def get_member(self, request: web.Request) -> web.Response:
        self._guild(request)
        user = self.world.users.get(_int(request.match_info["user_id"]))
        if user is None:
            raise ApiError(404, 10007, "Unknown Member")
        return json_response(self.world.member_payload(user))

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self.world.channel(request.match_info["channel_id"])
        return json_response(self.world.channel_payload(channel))

    async def patch_channel(self, request: web.Request) -> web.Response:
        channel = self.world.channel(request.match_info["channel_id"])
        body, _ = await read_body(request)
        if not channel.is_thread:
            if "name" in body:
                channel.name = str(body["name"])
            return json_response(self.world.channel_payload(channel))
        self.world.update_thread(channel, body)
        return json_response(self.world.channel_payload(channel))

    # -- messages ------------------------------------------------------------------

    async def get_messages(self, request: web.Request) -> web.Response:
        channel = self.world.channel(request.match_info["channel_id"])
        limit = max(1, min(100, _int(request.query.get("limit", "50"))))
        before = request.query.get("before")
        after = request.query.get("after")
        found = [
            m
            for m in self.world.messages.values()
            if m.channel_id == channel.id and not m.deleted and not m.ephemeral
        ]
        if before is not None:
            found = [m for m in found if m.id < _int(before)]
        if after is not None:
            found = [m for m in found if m.id > _int(after)]
            found = found[:limit]
        found = sorted(found, key=lambda m: m.id, reverse=True)[:limit]
        return json_response([self.world.message_payload(m) for m in found])

    async def get_message(self, request: web.Request) -> web.Response:
        message = self.world.message(
            request.match_info["channel_id"], request.match_info["message_id"]
        )
        if message.ephemeral:
            raise ApiError(404, 10008, "Unknown Message")
        return json_response(self.world.message_payload(message))

    async def post_message(self, request: web.Request) -> web.Response:
        channel = self.world.channel(request.match_info["channel_id"])
        body, uploads = await read_body(request)
        self.throttle.create(request, channel)
        self.world.unarchive_for_send(channel)
        if int(body.get("flags") or 0) & (1 << 6):
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                violation="ephemeral_channel_message",
                detail="only interaction responses can be ephemeral",
            )
        message = self.world.create_message(
            channel, author_id=self.world.bot.id, body=body, uploads=uploads
        )
        return json_response(self.world.message_payload(message))

    async def patch_message(self, request: web.Request) -> web.Response:
        message = self.world.message(
            request.match_info["channel_id"], request.match_info["message_id"]
        )
        if message.author_id != self.world.bot.id:
            raise ApiError(
                403,
                50005,
                "Cannot edit a message authored by another user",
                violation="edit_foreign_message",
            )
        body, uploads = await read_body(request)
        self.throttle.edit(request, message)
        self.world.edit_message(message, body, uploads)
        return json_response(self.world.message_payload(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self.world.message(
            request.match_info["channel_id"], request.match_info["message_id"]
        )
        self.world.delete_message(message)
        return no_content()

    # -- threads -------------------------------------------------------------------

    async def post_thread(self, request: web.Request) -> web.Response:
        parent = self.world.channel(request.match_info["channel_id"])
        body, _ = await read_body(request)
        kind = int(body.get("type") or PRIVATE_THREAD)
        if kind not in (PUBLIC_THREAD, PRIVATE_THREAD):
            raise ApiError(400, 50035, "Invalid Form Body", violation="bad_thread_type")
        thread = self.world.create_thread(
            parent,
            name=check_thread_name(body.get("name")),
            type=kind,
            owner_id=self.world.bot.id,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        )
        return json_response(self.world.channel_payload(thread), status=201)

    async def post_thread_from_message(self, request: web.Request) -> web.Response:
        parent = self.world.channel(request.match_info["channel_id"])
        starter = self.world.message(parent.id, request.match_info["message_id"])
        body, _ = await read_body(request)
        thread = self.world.create_thread(
            parent,
            name=check_thread_name(body.get("name")),
            type=PUBLIC_THREAD,
            owner_id=self.world.bot.id,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            starter=starter,
        )
        return json_response(self.world.channel_payload(thread), status=201)

    def _thread(self, request: web.Request) -> ChannelRec:
        channel = self.world.channel(request.match_info["channel_id"])
        if not channel.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return channel

    async def join_thread(self, request: web.Request) -> web.Response:
        self._thread(request).members.add(self.world.bot.id)
        self.world.notify()
        return no_content()

    async def add_thread_member(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        thread.members.add(self.world.user(_int(request.match_info["user_id"])).id)
        self.world.notify()
        return no_content()

    # -- reactions, typing, files --------------------------------------------------

    async def put_reaction(self, request: web.Request) -> web.Response:
        message = self.world.message(
            request.match_info["channel_id"], request.match_info["message_id"]
        )
        self.world.add_reaction(message, request.match_info["emoji"], self.world.bot.id)
        return no_content()

    async def delete_reaction(self, request: web.Request) -> web.Response:
        message = self.world.message(
            request.match_info["channel_id"], request.match_info["message_id"]
        )
        self.world.remove_reaction(message, request.match_info["emoji"], self.world.bot.id)
        return no_content()

    async def post_typing(self, request: web.Request) -> web.Response:
        channel = self.world.channel(request.match_info["channel_id"])
        self.world.typing[channel.id] += 1
        self.world.notify()
        return no_content()

    async def get_attachment(self, request: web.Request) -> web.Response:
        raw_id = request.match_info["attachment_id"]
        attachment = self.world.attachments.get(int(raw_id)) if raw_id.isdigit() else None
        if attachment is None:
            return json_response({"message": "404: Not Found", "code": 0}, status=404)
        return web.Response(body=attachment.data, headers={"Content-Type": attachment.content_type})


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ApiError(404, 0, "404: Not Found") from None
