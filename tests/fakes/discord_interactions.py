"""Interactions in the fake Discord: building INTERACTION_CREATE, and answering them.

The test side dispatches slash commands, autocomplete and component clicks built from
the *registered* command definitions (option types resolved as Discord would). The bot
answers through ``POST /interactions/{id}/{token}/callback`` (once, within the deadline,
3 s by default) and follows up through ``/webhooks/{application_id}/{token}``; responses
and follow-ups are real messages in the channel, as on Discord.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.discord_limits import (
    SELECT_TYPES,
    ApiError,
    Json,
    check_choices,
    check_modal,
    invalid_form,
)
from tests.fakes.discord_rest import API_PREFIX, Throttle, json_response, no_content, read_body
from tests.fakes.discord_state import (
    ADMINISTRATOR,
    EVERYONE_PERMISSIONS,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    MESSAGE_CHAT_INPUT_COMMAND,
    MESSAGE_DEFAULT,
    PRIVATE_THREAD,
    ChannelRec,
    DiscordWorld,
    MessageRec,
    SentMessage,
    Upload,
)

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

_ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    },
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
    },
}

# Option types (application command option type enum).
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10


@dataclass(frozen=True, slots=True)
class DispatchedInteraction:
    """An INTERACTION_CREATE the test sent; ``dispatched_at`` is monotonic seconds."""

    id: int
    token: str
    type: int
    name: str | None
    custom_id: str | None
    user_id: int
    channel_id: int
    guild_id: int
    message_id: int | None
    dispatched_at: float


@dataclass(frozen=True, slots=True)
class Callback:
    """One callback request: accepted (``status`` 200/204) or refused (4xx, ``error_code``)."""

    interaction_id: int
    type: int
    data: Json
    latency_s: float
    status: int
    error_code: int | None

    @property
    def ok(self) -> bool:
        return self.status < 300

    @property
    def choices(self) -> list[Json]:
        """The autocomplete choices of a type-8 callback."""
        return list(self.data.get("choices") or [])


@dataclass(slots=True)
class _Record:
    public: DispatchedInteraction
    acknowledged: bool = False
    response_type: int | None = None
    original_message_id: int | None = None
    followups: list[int] = field(default_factory=list)


class Interactions:
    def __init__(
        self,
        world: DiscordWorld,
        throttle: Throttle,
        *,
        deadline_s: float,
        token_ttl_s: float,
    ) -> None:
        self.world = world
        self.throttle = throttle
        self.deadline_s = deadline_s
        self.token_ttl_s = token_ttl_s
        self.callbacks: list[Callback] = []
        self._records: dict[int, _Record] = {}
        self._by_token: dict[str, _Record] = {}

    # -- inspection ----------------------------------------------------------------

    @property
    def dispatched(self) -> list[DispatchedInteraction]:
        return [r.public for r in self._records.values()]

    def unanswered(self) -> list[DispatchedInteraction]:
        """Interactions past their deadline without any callback attempt (a refused late
        one is already a ``late_ack`` violation)."""
        now = time.monotonic()
        attempted = {c.interaction_id for c in self.callbacks}
        return [
            r.public
            for r in self._records.values()
            if r.public.id not in attempted and now - r.public.dispatched_at > self.deadline_s
        ]

    def original_message_id(self, interaction_id: int) -> int | None:
        return self._records[interaction_id].original_message_id

    # -- building INTERACTION_CREATE -----------------------------------------------

    def slash(
        self,
        name: str,
        options: Mapping[str, Any],
        *,
        user_id: int,
        channel_id: int,
        guild_id: int | None,
    ) -> DispatchedInteraction:
        """``name`` may be ``"group sub"`` for subcommands; option values are Python values."""
        command, path, definitions = self._command(name, guild_id)
        self._check_options(name, definitions, options)
        resolved: Json = {}
        values = [
            self._option(d, options[d["name"]], resolved)
            for d in definitions
            if d["name"] in options
        ]
        data = self._command_data(command, path, values, guild_id)
        if resolved:
            data["resolved"] = resolved
        return self._dispatch(APPLICATION_COMMAND, data, user_id, channel_id, name=name)

    def autocomplete(
        self,
        name: str,
        focused: str,
        value: str,
        options: Mapping[str, Any],
        *,
        user_id: int,
        channel_id: int,
        guild_id: int | None,
    ) -> DispatchedInteraction:
        command, path, definitions = self._command(name, guild_id)
        by_name = {d["name"]: d for d in definitions}
        target = by_name.get(focused)
        if target is None or not target.get("autocomplete"):
            raise ValueError(f"/{name} has no autocomplete option {focused!r}")
        unused: Json = {}
        values = [
            self._option(by_name[k], v, unused)
            for k, v in options.items()
            if k != focused and k in by_name
        ]
        values.append({"type": target["type"], "name": focused, "value": value, "focused": True})
        data = self._command_data(command, path, values, guild_id)
        return self._dispatch(AUTOCOMPLETE, data, user_id, channel_id, name=name)

    def component(
        self,
        message: SentMessage | int,
        custom_id: str,
        values: Sequence[str] | None,
        *,
        user_id: int,
    ) -> DispatchedInteraction:
        message_id = message if isinstance(message, int) else message.id
        rec = self.world.messages.get(message_id)
        if rec is None or rec.deleted:
            raise ValueError(f"no message {message_id} to click on")
        snapshot = self.world.snapshot(rec)
        component = snapshot.component(custom_id)
        if component is None:
            raise ValueError(
                f"message {message_id} has no component {custom_id!r}; it has {snapshot.custom_ids}"
            )
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled; a user cannot use it")
        kind = int(component.get("type", 0))
        data: Json = {"custom_id": custom_id, "component_type": kind}
        if values is None:
            if kind != 2:
                raise ValueError(f"{custom_id!r} is a select menu; use select(...)")
        else:
            if kind not in SELECT_TYPES:
                raise ValueError(f"{custom_id!r} is not a select menu")
            self._check_select(component, values)
            data["values"] = list(values)
        return self._dispatch(
            MESSAGE_COMPONENT, data, user_id, rec.channel_id, custom_id=custom_id, message=rec
        )

    def _command(self, name: str, guild_id: int | None) -> tuple[Json, list[str], list[Json]]:
        root, *path = name.split()
        scopes = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self.world.commands.get(scope, []):
                if command["name"] == root and command.get("type", 1) == 1:
                    definitions: list[Json] = list(command.get("options") or [])
                    for part in path:
                        group = next(
                            (
                                d
                                for d in definitions
                                if d["name"] == part
                                and d["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
                            ),
                            None,
                        )
                        if group is None:
                            raise ValueError(f"/{root} has no subcommand {part!r}")
                        definitions = list(group.get("options") or [])
                    return command, path, definitions
        registered = sorted(c["name"] for s in scopes for c in self.world.commands.get(s, []))
        raise LookupError(f"/{root} is not registered (registered: {registered})")

    def _command_data(
        self, command: Json, path: list[str], values: list[Json], guild_id: int | None
    ) -> Json:
        options = values
        kinds = {0: [], 1: [SUB_COMMAND], 2: [SUB_COMMAND_GROUP, SUB_COMMAND]}[len(path)]
        for part, kind in reversed(list(zip(path, kinds, strict=True))):
            options = [{"type": kind, "name": part, "options": options}]
        data: Json = {"id": command["id"], "name": command["name"], "type": 1, "options": options}
        if "guild_id" in command and guild_id is not None:
            data["guild_id"] = command["guild_id"]
        return data

    @staticmethod
    def _check_options(name: str, definitions: list[Json], options: Mapping[str, Any]) -> None:
        known = {d["name"] for d in definitions}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"/{name} has no option(s) {unknown}; it has {sorted(known)}")
        missing = [d["name"] for d in definitions if d.get("required") and d["name"] not in options]
        if missing:
            raise ValueError(f"/{name} needs option(s) {missing}")

    def _option(self, definition: Json, value: Any, resolved: Json) -> Json:
        kind = definition["type"]
        name = definition["name"]
        if kind == STRING:
            if not isinstance(value, str):
                raise ValueError(f"option {name!r} takes a string, got {value!r}")
            low, high = definition.get("min_length", 0), definition.get("max_length", 6000)
            if not low <= len(value) <= high:
                raise ValueError(f"option {name!r} must be {low}..{high} characters long")
        elif kind == INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"option {name!r} takes an integer, got {value!r}")
        elif kind == NUMBER:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"option {name!r} takes a number, got {value!r}")
        elif kind == BOOLEAN:
            if not isinstance(value, bool):
                raise ValueError(f"option {name!r} takes a boolean, got {value!r}")
        elif kind in (USER, MENTIONABLE):
            user = self.world.user(int(value))
            resolved.setdefault("users", {})[str(user.id)] = self.world.user_payload(user)
            member = self.world.member_payload(user, with_user=False)
            member["permissions"] = str(EVERYONE_PERMISSIONS)
            resolved.setdefault("members", {})[str(user.id)] = member
            value = str(user.id)
        elif kind == CHANNEL:
            channel = self.world.channel(int(value))
            payload = self.world.channel_payload(channel)
            payload["permissions"] = str(EVERYONE_PERMISSIONS)
            resolved.setdefault("channels", {})[str(channel.id)] = payload
            value = str(channel.id)
        elif kind == ROLE:
            roles = {r["id"]: r for r in self.world.roles_payload()}
            if str(value) not in roles:
                raise ValueError(f"option {name!r}: no role {value}")
            resolved.setdefault("roles", {})[str(value)] = roles[str(value)]
            value = str(value)
        else:
            raise ValueError(f"option {name!r} has type {kind}, which the fake does not support")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            low_v = definition.get("min_value")
            high_v = definition.get("max_value")
            if (low_v is not None and value < low_v) or (high_v is not None and value > high_v):
                raise ValueError(f"option {name!r} must be within {low_v}..{high_v}")
        choices = definition.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(f"option {name!r} must be one of {[c['value'] for c in choices]}")
        return {"type": kind, "name": name, "value": value}

    @staticmethod
    def _check_select(component: Json, values: Sequence[str]) -> None:
        low = int(component.get("min_values", 1))
        high = int(component.get("max_values", 1))
        if not low <= len(values) <= high:
            raise ValueError(f"select {component['custom_id']!r} takes {low}..{high} values")
        if component.get("type") == 3:
            allowed = [o["value"] for o in component.get("options") or []]
            bad = [v for v in values if v not in allowed]
            if bad:
                raise ValueError(f"select {component['custom_id']!r} has no option(s) {bad}")

    def _dispatch(
        self,
        kind: int,
        data: Json,
        user_id: int,
        channel_id: int,
        *,
        name: str | None = None,
        custom_id: str | None = None,
        message: MessageRec | None = None,
    ) -> DispatchedInteraction:
        world = self.world
        channel = world.channel(channel_id)
        user = world.user(user_id)
        require_visible(channel, user.id)
        interaction = DispatchedInteraction(
            id=world.ids.next(),
            token=f"aW50ZXJhY3Rpb24{secrets.token_urlsafe(48)}",
            type=kind,
            name=name,
            custom_id=custom_id,
            user_id=user.id,
            channel_id=channel.id,
            guild_id=world.guild_id,
            message_id=message.id if message is not None else None,
            dispatched_at=time.monotonic(),
        )
        member = world.member_payload(user)
        member["permissions"] = str(EVERYONE_PERMISSIONS)
        channel_payload = world.channel_payload(channel)
        channel_payload["permissions"] = str(EVERYONE_PERMISSIONS)
        payload: Json = {
            "id": str(interaction.id),
            "application_id": str(world.application_id),
            "type": kind,
            "token": interaction.token,
            "version": 1,
            "data": data,
            "guild_id": str(world.guild_id),
            "guild": {"id": str(world.guild_id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel_payload,
            "member": member,
            "app_permissions": str(ADMINISTRATOR | EVERYONE_PERMISSIONS),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(world.guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = world.message_payload(message)
        record = _Record(interaction)
        self._records[interaction.id] = record
        self._by_token[interaction.token] = record
        world.emit("INTERACTION_CREATE", payload, 0, False)
        world.notify()
        return interaction

    # -- answering -----------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        p = API_PREFIX
        hook = f"{p}/webhooks/{{application_id}}/{{token}}"
        return [
            web.post(f"{p}/interactions/{{interaction_id}}/{{token}}/callback", self.callback),
            web.post(hook, self.followup),
            web.get(f"{hook}/messages/{{message_id}}", self.get_webhook_message),
            web.patch(f"{hook}/messages/{{message_id}}", self.edit_webhook_message),
            web.delete(f"{hook}/messages/{{message_id}}", self.delete_webhook_message),
        ]

    async def callback(self, request: web.Request) -> web.Response:
        try:
            record = self._records[int(request.match_info["interaction_id"])]
        except (KeyError, ValueError):
            record = None
        if record is None or record.public.token != request.match_info["token"]:
            raise ApiError(404, 10062, "Unknown interaction", violation="unknown_interaction")
        latency = time.monotonic() - record.public.dispatched_at
        body, uploads = await read_body(request)
        kind = int(body.get("type") or 0)
        data = dict(body.get("data") or {})
        try:
            if record.acknowledged:
                raise ApiError(
                    400,
                    40060,
                    "Interaction has already been acknowledged.",
                    violation="double_ack",
                )
            if latency > self.deadline_s:
                raise ApiError(
                    404,
                    10062,
                    "Unknown interaction",
                    violation="late_ack",
                    detail=f"callback {latency:.3f}s after dispatch (limit {self.deadline_s}s)",
                )
            resource = self._respond(record, kind, data, uploads)
        except ApiError as error:
            self.callbacks.append(
                Callback(record.public.id, kind, data, latency, error.status, error.code)
            )
            raise
        record.acknowledged = True
        record.response_type = kind
        with_response = request.query.get("with_response") in ("1", "true", "True")
        self.callbacks.append(
            Callback(record.public.id, kind, data, latency, 200 if with_response else 204, None)
        )
        self.world.notify()
        if not with_response:
            return no_content()
        original = record.original_message_id
        message = self.world.messages.get(original) if original is not None else None
        return json_response(
            {
                "interaction": {
                    "id": str(record.public.id),
                    "type": record.public.type,
                    "response_message_id": str(original) if original is not None else None,
                    "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
                    "response_message_ephemeral": bool(message and message.ephemeral),
                },
                "resource": resource,
            }
        )

    def _respond(self, record: _Record, kind: int, data: Json, uploads: list[Upload]) -> Json:
        interaction = record.public
        if kind not in _ALLOWED_CALLBACKS[interaction.type]:
            raise invalid_form(
                "type",
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Response type {kind} is not valid for interaction type {interaction.type}",
                violation="bad_callback_type",
            )
        world = self.world
        channel = world.channel(interaction.channel_id)
        if kind == CHANNEL_MESSAGE:
            message = self._create(record, channel, data, uploads)
            record.original_message_id = message.id
            return {"type": kind, "message": world.message_payload(message)}
        if kind == DEFERRED_CHANNEL_MESSAGE:
            flags = (int(data.get("flags") or 0) & FLAG_EPHEMERAL) | FLAG_LOADING
            message = self._create(record, channel, {"flags": flags}, [], allow_empty=True)
            record.original_message_id = message.id
            return {"type": kind, "message": world.message_payload(message)}
        if kind in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            if interaction.message_id is None:
                raise invalid_form(
                    "type",
                    "INTERACTION_RESPONSE_TYPE_INVALID",
                    "Nothing to update: this interaction has no message",
                    violation="bad_callback_type",
                )
            target = world.message(interaction.channel_id, interaction.message_id)
            record.original_message_id = target.id
            if kind == UPDATE_MESSAGE:
                world.edit_message(target, data, uploads)
                return {"type": kind, "message": world.message_payload(target)}
            return {"type": kind}
        if kind == AUTOCOMPLETE_RESULT:
            check_choices(data)
            return {"type": kind}
        check_modal(data)
        return {"type": kind}

    def _create(
        self,
        record: _Record,
        channel: ChannelRec,
        body: Mapping[str, Any],
        uploads: list[Upload],
        *,
        allow_empty: bool = False,
    ) -> MessageRec:
        interaction = record.public
        world = self.world
        meta: Json = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": world.user_payload(world.user(interaction.user_id)),
            "authorizing_integration_owners": {"0": str(world.guild_id)},
        }
        if interaction.name is not None:
            meta["name"] = interaction.name
        if record.original_message_id is not None:
            meta["original_response_message_id"] = str(record.original_message_id)
        if interaction.message_id is not None:
            meta["interacted_message_id"] = str(interaction.message_id)
        if not int(body.get("flags") or 0) & FLAG_EPHEMERAL:
            world.unarchive_for_send(channel)
        kind = (
            MESSAGE_CHAT_INPUT_COMMAND
            if interaction.type == APPLICATION_COMMAND
            else MESSAGE_DEFAULT
        )
        return world.create_message(
            channel,
            author_id=world.bot.id,
            body=body,
            uploads=uploads,
            type=kind,
            interaction_id=interaction.id,
            interaction_meta=meta,
            webhook=True,
            allow_empty=allow_empty,
        )

    def _webhook_record(self, request: web.Request) -> _Record:
        record = self._by_token.get(request.match_info["token"])
        if record is None or request.match_info["application_id"] != str(self.world.application_id):
            raise ApiError(404, 10015, "Unknown Webhook", violation="unknown_webhook")
        if time.monotonic() - record.public.dispatched_at > self.token_ttl_s:
            raise ApiError(401, 50027, "Invalid Webhook Token", violation="token_expired")
        if not record.acknowledged:
            raise ApiError(
                404,
                10015,
                "Unknown Webhook",
                violation="followup_before_ack",
                detail="follow-up or edit before the interaction was acknowledged",
            )
        return record

    def _webhook_message(self, request: web.Request, record: _Record) -> MessageRec:
        raw = request.match_info["message_id"]
        if raw == "@original":
            message_id = record.original_message_id
        else:
            message_id = int(raw) if raw.isdigit() else None
            if message_id not in record.followups and message_id != record.original_message_id:
                message_id = None
        message = self.world.messages.get(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def followup(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        body, uploads = await read_body(request)
        original = (
            self.world.messages.get(record.original_message_id)
            if record.original_message_id is not None
            else None
        )
        if (
            record.response_type == DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original.flags & FLAG_LOADING
            and not original.deleted
        ):
            message = self.world.fill_loading(original, body, uploads)
        else:
            channel = self.world.channel(record.public.channel_id)
            message = self._create(record, channel, body, uploads)
            record.followups.append(message.id)
        if request.query.get("wait") in ("0", "false", "False"):
            return no_content()
        return json_response(self.world.message_payload(message))

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        return json_response(self.world.message_payload(self._webhook_message(request, record)))

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        message = self._webhook_message(request, record)
        body, uploads = await read_body(request)
        self.throttle.edit(request, message)
        self.world.edit_message(message, body, uploads)
        return json_response(self.world.message_payload(message))

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        self.world.delete_message(self._webhook_message(request, record))
        return no_content()


def require_visible(channel: ChannelRec, user_id: int) -> None:
    """A user cannot act in a private thread they were never added to (or mentioned in)."""
    if channel.type == PRIVATE_THREAD and user_id not in channel.members:
        raise ValueError(
            f"user {user_id} cannot see private thread {channel.id} ({channel.name!r}); "
            "add them (thread.add_user) or mention them, or create a public thread"
        )
