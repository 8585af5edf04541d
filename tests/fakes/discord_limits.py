"""Discord's documented limits, enforced by the fake so that tests catch violations.

discord.py checks none of these before sending (custom_id length, 25 choices, 2000
characters...): on the real service the request fails, so here it fails the same way,
with the same status, error code and ``errors`` tree, and the fake records a
:class:`Violation` naming the rule that was broken.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Json = dict[str, Any]

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_TOTAL = 6000
MAX_CUSTOM_ID = 100
MAX_ACTION_ROWS = 5
MAX_ROW_BUTTONS = 5
MAX_SELECT_OPTIONS = 25
MAX_CHOICES = 25
MAX_THREAD_NAME = 100
MAX_BUTTON_LABEL = 80
MAX_COMMANDS = 100
MAX_COMMAND_OPTIONS = 25

BUTTON = 2
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
ACTION_ROW = 1
TEXT_INPUT = 4
LINK_STYLE = 5
PREMIUM_STYLE = 6
FLAG_COMPONENTS_V2 = 1 << 15

_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


class ApiError(Exception):
    """A Discord error response: ``{"message", "code", "errors"?}`` with an HTTP status.

    ``violation`` names the rule a test broke (None for plain "not found" answers).
    """

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: Json | None = None,
        violation: str | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(f"{status} {code} {message} {detail}".strip())
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.violation = violation
        self.detail = detail or message

    def body(self) -> Json:
        body: Json = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def invalid_form(path: str, code: str, message: str, *, violation: str) -> ApiError:
    """400 / 50035 "Invalid Form Body" with Discord's nested ``errors`` tree for ``path``."""
    tree: Json = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        tree = {part: tree}
    return ApiError(
        400,
        50035,
        "Invalid Form Body",
        errors=tree,
        violation=violation,
        detail=f"{path}: {message}",
    )


def _too_long(path: str, limit: int, *, violation: str) -> ApiError:
    return invalid_form(
        path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.", violation=violation
    )


def _bad_length(path: str, low: int, high: int, *, violation: str) -> ApiError:
    message = f"Must be between {low} and {high} in length."
    return invalid_form(path, "BASE_TYPE_BAD_LENGTH", message, violation=violation)


@dataclass(frozen=True, slots=True)
class Violation:
    """A request the real Discord would have refused (or an interaction left unanswered)."""

    kind: str
    route: str
    detail: str
    at: float


def check_message(body: Mapping[str, Any], *, path: str = "") -> None:
    """Validate a message create/edit body (content, embeds, components)."""
    prefix = f"{path}." if path else ""
    content = body.get("content")
    if content is not None:
        if not isinstance(content, str):
            raise invalid_form(
                f"{prefix}content", "BASE_TYPE_STRING", "Must be a string.", violation="bad_type"
            )
        if len(content) > MAX_CONTENT:
            raise _too_long(f"{prefix}content", MAX_CONTENT, violation="content_too_long")
    embeds = body.get("embeds")
    if embeds:
        check_embeds(embeds, path=f"{prefix}embeds")
    components = body.get("components")
    if components:
        v2 = bool(int(body.get("flags") or 0) & FLAG_COMPONENTS_V2)
        check_components(components, path=f"{prefix}components", v2=v2)


def is_empty_message(body: Mapping[str, Any], *, attachments: int) -> bool:
    """Discord refuses (50006) a message with nothing to show."""
    return not (
        body.get("content")
        or body.get("embeds")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or attachments
    )


def empty_message() -> ApiError:
    return ApiError(400, 50006, "Cannot send an empty message", violation="empty_message")


def check_embeds(embeds: Sequence[Json], *, path: str) -> None:
    if len(embeds) > MAX_EMBEDS:
        raise _too_long(path, MAX_EMBEDS, violation="too_many_embeds")
    total = 0
    for index, embed in enumerate(embeds):
        description = str(embed.get("description") or "")
        if len(description) > MAX_EMBED_DESCRIPTION:
            raise _too_long(
                f"{path}.{index}.description", MAX_EMBED_DESCRIPTION, violation="embed_too_long"
            )
        total += len(str(embed.get("title") or "")) + len(description)
        total += len(str((embed.get("footer") or {}).get("text") or ""))
        total += len(str((embed.get("author") or {}).get("name") or ""))
        for field in embed.get("fields") or []:
            total += len(str(field.get("name") or "")) + len(str(field.get("value") or ""))
    if total > MAX_EMBED_TOTAL:
        raise invalid_form(
            path,
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
            violation="embed_too_long",
        )


def walk_components(components: Sequence[Json], path: str) -> Iterator[tuple[str, Json]]:
    """Every component (rows, buttons, selects, v2 containers...) with its error path."""
    for index, component in enumerate(components):
        here = f"{path}.{index}"
        yield here, component
        children = component.get("components")
        if isinstance(children, list):
            yield from walk_components(children, f"{here}.components")
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, dict):
                yield f"{here}.{key}", child
                yield from walk_components(
                    child.get("components") or [], f"{here}.{key}.components"
                )


def check_components(components: Sequence[Json], *, path: str, v2: bool) -> None:
    """≤ 5 action rows of ≤ 5 buttons or 1 select; custom_id ≤ 100 and unique; ≤ 25 options."""
    if not v2:
        if len(components) > MAX_ACTION_ROWS:
            raise _too_long(path, MAX_ACTION_ROWS, violation="too_many_rows")
        for index, row in enumerate(components):
            row_path = f"{path}.{index}"
            if row.get("type") != ACTION_ROW:
                raise invalid_form(
                    f"{row_path}.type",
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "Top-level components must be action rows.",
                    violation="bad_component_layout",
                )
            children = row.get("components") or []
            if not children:
                raise _bad_length(f"{row_path}.components", 1, 5, violation="empty_action_row")
            selects = [c for c in children if c.get("type") in SELECT_TYPES]
            if len(children) > MAX_ROW_BUTTONS or (selects and len(children) > 1):
                raise invalid_form(
                    f"{row_path}.components",
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "The specified component exceeds the maximum width",
                    violation="row_too_wide",
                )
    seen: set[str] = set()
    for here, component in walk_components(components, path):
        _check_component(here, component, seen)


def _check_component(path: str, component: Json, seen: set[str]) -> None:
    kind = component.get("type")
    custom_id = component.get("custom_id")
    if custom_id is not None:
        if not isinstance(custom_id, str) or not custom_id:
            raise _bad_length(f"{path}.custom_id", 1, MAX_CUSTOM_ID, violation="custom_id_length")
        if len(custom_id) > MAX_CUSTOM_ID:
            raise _too_long(f"{path}.custom_id", MAX_CUSTOM_ID, violation="custom_id_too_long")
        if custom_id in seen:
            raise invalid_form(
                f"{path}.custom_id",
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
                violation="custom_id_duplicated",
            )
        seen.add(custom_id)
    if kind == BUTTON:
        style = component.get("style")
        if style == LINK_STYLE:
            if not component.get("url") or custom_id is not None:
                raise invalid_form(
                    path,
                    "BUTTON_COMPONENT_URL_REQUIRED",
                    "A link button needs a url and no custom_id.",
                    violation="bad_button",
                )
        elif style != PREMIUM_STYLE and custom_id is None:
            raise invalid_form(
                f"{path}.custom_id",
                "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
                "A custom id is required",
                violation="bad_button",
            )
        label = component.get("label")
        if label is not None and len(str(label)) > MAX_BUTTON_LABEL:
            raise _too_long(f"{path}.label", MAX_BUTTON_LABEL, violation="label_too_long")
    elif kind in SELECT_TYPES:
        if custom_id is None:
            raise invalid_form(
                f"{path}.custom_id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
                violation="bad_select",
            )
        if kind == 3:
            options = component.get("options") or []
            if not 1 <= len(options) <= MAX_SELECT_OPTIONS:
                raise _bad_length(
                    f"{path}.options", 1, MAX_SELECT_OPTIONS, violation="too_many_select_options"
                )
            for index, option in enumerate(options):
                for key in ("label", "value", "description"):
                    text = option.get(key)
                    if text is not None and len(str(text)) > 100:
                        raise _too_long(
                            f"{path}.options.{index}.{key}", 100, violation="select_option_too_long"
                        )
        for key in ("min_values", "max_values"):
            value = component.get(key)
            if value is not None and not 0 <= int(value) <= MAX_SELECT_OPTIONS:
                raise invalid_form(
                    f"{path}.{key}",
                    "NUMBER_TYPE_MAX",
                    f"int value should be less than or equal to {MAX_SELECT_OPTIONS}.",
                    violation="bad_select",
                )


def check_choices(data: Mapping[str, Any]) -> None:
    """Autocomplete result: ≤ 25 choices, names 1-100 characters, string values ≤ 100."""
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise invalid_form(
            "data.choices", "BASE_TYPE_REQUIRED", "This field is required", violation="bad_choices"
        )
    if len(choices) > MAX_CHOICES:
        raise _too_long("data.choices", MAX_CHOICES, violation="too_many_choices")
    for index, choice in enumerate(choices):
        name = str(choice.get("name") or "")
        if not 1 <= len(name) <= 100:
            raise _bad_length(f"data.choices.{index}.name", 1, 100, violation="choice_name_length")
        value = choice.get("value")
        if isinstance(value, str) and len(value) > 100:
            raise _too_long(f"data.choices.{index}.value", 100, violation="choice_value_too_long")


def check_modal(data: Mapping[str, Any]) -> None:
    custom_id = str(data.get("custom_id") or "")
    if not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
        raise _bad_length("data.custom_id", 1, MAX_CUSTOM_ID, violation="custom_id_too_long")
    title = str(data.get("title") or "")
    if not 1 <= len(title) <= 45:
        raise _bad_length("data.title", 1, 45, violation="modal_title_length")
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        raise _bad_length("data.components", 1, 5, violation="modal_components")
    seen: set[str] = set()
    for here, component in walk_components(components, "data.components"):
        _check_component(here, component, seen)


def check_thread_name(name: object) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_THREAD_NAME:
        raise _bad_length("name", 1, MAX_THREAD_NAME, violation="thread_name_length")
    return name


def check_commands(commands: Sequence[Json]) -> None:
    """Bulk overwrite payload: Discord's naming and size rules for application commands."""
    if len(commands) > MAX_COMMANDS:
        raise _too_long("", MAX_COMMANDS, violation="too_many_commands")
    names: set[tuple[str, int]] = set()
    for index, command in enumerate(commands):
        kind = int(command.get("type", 1))
        name = str(command.get("name") or "")
        if kind == 1:
            _check_name(f"{index}.name", name)
            _check_description(f"{index}.description", command.get("description"))
            _check_options(f"{index}.options", command.get("options") or [])
        elif not 1 <= len(name) <= 32:
            raise _bad_length(f"{index}.name", 1, 32, violation="command_name")
        if (name, kind) in names:
            raise invalid_form(
                f"{index}.name",
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {name}",
                violation="command_duplicate",
            )
        names.add((name, kind))


def _check_name(path: str, name: str) -> None:
    if not _COMMAND_NAME.match(name) or name != name.lower():
        raise invalid_form(
            path,
            "APPLICATION_COMMAND_INVALID_NAME",
            f"Command name is invalid: {name!r}",
            violation="command_name",
        )


def _check_description(path: str, description: object) -> None:
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        raise _bad_length(path, 1, 100, violation="command_description")


def _check_options(path: str, options: Sequence[Json]) -> None:
    if len(options) > MAX_COMMAND_OPTIONS:
        raise _too_long(path, MAX_COMMAND_OPTIONS, violation="too_many_options")
    optional_seen = False
    for index, option in enumerate(options):
        here = f"{path}.{index}"
        _check_name(f"{here}.name", str(option.get("name") or ""))
        _check_description(f"{here}.description", option.get("description"))
        if option.get("type") in (1, 2):
            _check_options(f"{here}.options", option.get("options") or [])
            continue
        choices = option.get("choices") or []
        if len(choices) > MAX_CHOICES:
            raise _too_long(f"{here}.choices", MAX_CHOICES, violation="too_many_choices")
        if choices and option.get("autocomplete"):
            raise invalid_form(
                f"{here}.autocomplete",
                "AUTOCOMPLETE_AND_CHOICES_CONFLICT",
                "Autocomplete cannot be enabled on options with choices",
                violation="command_options",
            )
        if option.get("required"):
            if optional_seen:
                raise invalid_form(
                    f"{here}.required",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                    violation="command_options",
                )
        else:
            optional_seen = True


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``limit`` requests per ``per_s`` seconds in one bucket.

    ``scope`` picks the bucket: one per message (``"message"``) or per channel
    (``"channel"``; what Discord really does for message routes).
    """

    limit: int = 5
    per_s: float = 5.0
    scope: Literal["message", "channel"] = "message"


@dataclass(frozen=True, slots=True)
class BucketState:
    """What the X-RateLimit-* headers say about a bucket after a request."""

    bucket: str
    limit: int
    remaining: int
    reset_after: float

    def headers(self, now_epoch: float) -> dict[str, str]:
        return {
            "X-RateLimit-Bucket": self.bucket,
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": f"{now_epoch + self.reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{self.reset_after:.3f}",
            "X-RateLimit-Scope": "user",
        }


class RateLimited(Exception):
    def __init__(self, state: BucketState) -> None:
        super().__init__(f"rate limited on {state.bucket}, retry after {state.reset_after:.3f}s")
        self.state = state

    def headers(self, now_epoch: float) -> dict[str, str]:
        headers = self.state.headers(now_epoch)
        headers["Retry-After"] = str(max(1, math.ceil(self.state.reset_after)))
        # discord.py treats a 429 without a Via header as a Cloudflare ban and raises
        # HTTPException instead of retrying (http.py, webhook/async_.py).
        headers["Via"] = "1.1 google"
        return headers


class RateLimiter:
    """Fixed-window buckets, like Discord's: the window opens at the first request."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, bucket: str, rule: RateLimit) -> BucketState:
        """Count one request; raise :class:`RateLimited` when the bucket is empty."""
        now = self._clock()
        start, count = self._windows.get(bucket, (now, 0))
        if now >= start + rule.per_s:
            start, count = now, 0
        reset_after = max(0.0, start + rule.per_s - now)
        if count >= rule.limit:
            raise RateLimited(BucketState(bucket, rule.limit, 0, reset_after))
        self._windows[bucket] = (start, count + 1)
        return BucketState(bucket, rule.limit, rule.limit - count - 1, reset_after)
