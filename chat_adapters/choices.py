"""One question type for everything the chat must answer: tool approvals,
AskUserQuestion and plan approval.

A :class:`ChoicePrompt` checks itself when built, so no adapter ever renders a prompt
with no options, duplicate buttons, or a timeout answer nobody was offered. The timeout
answer is always one of the options, and the factories here make it the refusing one
(deny, keep planning, skip): an unattended chat fails closed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from chat_adapters.redaction import Redactor

ChoiceStyle: TypeAlias = Literal["primary", "danger", "secondary"]
PromptKind: TypeAlias = Literal["approval", "question", "plan", "other"]

MAX_LABEL_LENGTH = 80
"""Discord's button label limit, the smaller of the two apps'."""

DEFAULT_APPROVAL_TIMEOUT_S = 300.0
DEFAULT_QUESTION_TIMEOUT_S = 900.0
DEFAULT_PLAN_TIMEOUT_S = 900.0

ALLOW_ONCE = "allow_once"
ALLOW_SESSION = "allow_session"
DENY = "deny"
APPROVE_PLAN = "approve"
KEEP_PLANNING = "keep_planning"
SKIP_QUESTION = "skip"

_STYLES = ("primary", "danger", "secondary")
_KINDS = ("approval", "question", "plan", "other")


@dataclass(frozen=True, slots=True)
class Choice:
    """One button: ``id`` is what the code gets back, ``label`` what the person sees."""

    id: str
    label: str
    style: ChoiceStyle = "secondary"

    def __post_init__(self) -> None:
        if not self.id or self.id != self.id.strip():
            raise ValueError(f"choice id must be non-empty without outer spaces: {self.id!r}")
        if not self.label.strip():
            raise ValueError(f"choice {self.id!r} needs a label")
        if "\n" in self.label or len(self.label) > MAX_LABEL_LENGTH:
            raise ValueError(
                f"choice label must be one line of at most {MAX_LABEL_LENGTH} characters: "
                f"{self.label[:100]!r}"
            )
        if self.style not in _STYLES:
            raise ValueError(f"choice style must be one of {_STYLES}, got {self.style!r}")


@dataclass(frozen=True, slots=True)
class Notify:
    """A person to mention: their id in the app, and the name to show."""

    user_id: str
    name: str = ""

    def __post_init__(self) -> None:
        if not self.user_id.strip():
            raise ValueError("a person to notify needs their user id")


@dataclass(frozen=True, slots=True)
class ChoiceAnswer:
    """What came back: an offered choice's id, or typed text when the prompt allows it."""

    choice_id: str | None = None
    text: str | None = None
    timed_out: bool = False

    def __post_init__(self) -> None:
        if (self.choice_id is None) == (self.text is None):
            raise ValueError("an answer is either a choice id or typed text, exactly one")
        if self.timed_out and self.choice_id is None:
            raise ValueError("a timed-out answer is the prompt's timeout choice")


@dataclass(frozen=True, slots=True)
class ChoicePrompt:
    """A question with buttons. ``body`` is Markdown shown above them.

    ``timeout_s`` after it is shown with no answer, the surface answers
    ``timeout_choice`` itself and says so in the chat.
    """

    title: str
    options: tuple[Choice, ...]
    timeout_choice: str
    timeout_s: float
    body: str = ""
    allows_free_text: bool = False
    kind: PromptKind = "other"
    notify: Notify | None = None
    """Who must answer (the asker): each surface mentions them in its own way, so
    their phone notifies."""

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("a choice prompt needs a title")
        if not isinstance(self.options, tuple):
            object.__setattr__(self, "options", tuple(self.options))
        if not self.options:
            raise ValueError(f"choice prompt {self.title!r} offers no options")
        ids = [option.id for option in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError(f"choice prompt {self.title!r} repeats an option id: {ids}")
        labels = [option.label.strip().casefold() for option in self.options]
        if len(set(labels)) != len(labels):
            raise ValueError(f"choice prompt {self.title!r} repeats an option label")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number, got {self.timeout_s!r}")
        if self.timeout_choice not in ids:
            raise ValueError(
                f"timeout choice {self.timeout_choice!r} is not one of the options {ids}"
            )
        if self.kind not in _KINDS:
            raise ValueError(f"prompt kind must be one of {_KINDS}, got {self.kind!r}")

    def option(self, choice_id: str) -> Choice:
        for option in self.options:
            if option.id == choice_id:
                return option
        raise KeyError(choice_id)

    def answer(self, choice_id: str) -> ChoiceAnswer:
        """The answer for a pressed button; raises KeyError for an id never offered."""
        return ChoiceAnswer(choice_id=self.option(choice_id).id)

    def free_text_answer(self, text: str) -> ChoiceAnswer:
        if not self.allows_free_text:
            raise ValueError(f"choice prompt {self.title!r} does not take typed answers")
        if not text.strip():
            raise ValueError("a typed answer must not be blank")
        return ChoiceAnswer(text=text)

    def timeout_answer(self) -> ChoiceAnswer:
        return ChoiceAnswer(choice_id=self.timeout_choice, timed_out=True)


# -- factories -----------------------------------------------------------------------


def tool_approval_prompt(
    tool_name: str,
    tool_input: Mapping[str, Any],
    *,
    directory: str,
    reason: str | None = None,
    session_scope: str | None = None,
    offer_session: bool = True,
    timeout_s: float = DEFAULT_APPROVAL_TIMEOUT_S,
    redact: Redactor | None = None,
) -> ChoicePrompt:
    """Allow once / Allow for this session / Deny; no answer in time = deny.

    ``session_scope`` names what "for this session" covers when it is narrower than the
    tool (e.g. a Bash command prefix ``git status``). Without ``offer_session`` the call
    can only be allowed once (a chained command, an interpreter, a path outside).
    """
    redact = redact or Redactor()
    session_label = "Allow for this session"
    if session_scope:
        scope = _one_line(redact(session_scope), MAX_LABEL_LENGTH - len("Allow  for this session"))
        session_label = f"Allow {scope} for this session"
    lines = [f"Directory: {_code_span(directory)}"]
    if reason:
        lines.append(f"Why: {_one_line(reason, 300)}")
    details = tool_input_details(tool_name, tool_input, redact=redact)
    if details:
        lines.append(_fenced(details))
    return ChoicePrompt(
        title=f"Allow {_one_line(tool_name, 60) or 'tool'}?",
        body="\n".join(lines),
        options=(
            Choice(ALLOW_ONCE, "Allow once", "primary"),
            *((Choice(ALLOW_SESSION, session_label, "secondary"),) if offer_session else ()),
            Choice(DENY, "Deny", "danger"),
        ),
        timeout_choice=DENY,
        timeout_s=timeout_s,
        kind="approval",
    )


def question_prompt(
    question: str,
    options: Sequence[str | tuple[str, str]],
    *,
    header: str = "",
    allows_free_text: bool = True,
    timeout_s: float = DEFAULT_QUESTION_TIMEOUT_S,
) -> ChoicePrompt:
    """One AskUserQuestion question: its options as buttons ids ``"1"``..``"n"``, plus
    Skip (the timeout answer). Labels are cleaned and made unique; descriptions and
    anything cut from a label go into the body, so nothing the model wrote is lost.
    """
    pairs = [(o, "") if isinstance(o, str) else (o[0], o[1]) for o in options]
    labels = _unique_labels([label for label, _ in pairs], reserved=("Skip",))
    body: list[str] = []
    if question.strip():
        body.append(question.strip())
    described = [
        f"{i}. {label.strip()}" + (f": {description.strip()}" if description.strip() else "")
        for i, (label, description) in enumerate(pairs, start=1)
        if description.strip() or _one_line(label, MAX_LABEL_LENGTH) != label.strip()
    ]
    if described:
        body.append("\n".join(described))
    choices = [Choice(str(i), label) for i, label in enumerate(labels, start=1)]
    choices.append(Choice(SKIP_QUESTION, "Skip"))
    title = _one_line(header, 200) or _one_line(question, 200) or "Question"
    return ChoicePrompt(
        title=title,
        body="\n\n".join(body),
        options=tuple(choices),
        timeout_choice=SKIP_QUESTION,
        timeout_s=timeout_s,
        allows_free_text=allows_free_text,
        kind="question",
    )


def ask_user_question_prompts(
    tool_input: Mapping[str, Any], *, timeout_s: float = DEFAULT_QUESTION_TIMEOUT_S
) -> list[ChoicePrompt]:
    """Prompts for an AskUserQuestion tool input (``{"questions": [...]}``), one per
    question, tolerating missing or odd fields rather than failing the turn."""
    raw = tool_input.get("questions")
    questions = raw if isinstance(raw, list) else []
    prompts: list[ChoicePrompt] = []
    for item in questions:
        if not isinstance(item, Mapping):
            continue
        options: list[tuple[str, str]] = []
        raw_options = item.get("options")
        for option in raw_options if isinstance(raw_options, list) else []:
            if isinstance(option, Mapping):
                options.append((str(option.get("label", "")), str(option.get("description", ""))))
            elif isinstance(option, str):
                options.append((option, ""))
        prompts.append(
            question_prompt(
                str(item.get("question", "")),
                options,
                header=str(item.get("header", "")),
                timeout_s=timeout_s,
            )
        )
    return prompts


def plan_approval_prompt(plan: str, *, timeout_s: float = DEFAULT_PLAN_TIMEOUT_S) -> ChoicePrompt:
    """Approve / Keep planning for ExitPlanMode; no answer in time = keep planning."""
    return ChoicePrompt(
        title="Approve this plan?",
        body=plan.strip(),
        options=(
            Choice(APPROVE_PLAN, "Approve", "primary"),
            Choice(KEEP_PLANNING, "Keep planning", "secondary"),
        ),
        timeout_choice=KEEP_PLANNING,
        timeout_s=timeout_s,
        kind="plan",
    )


# -- tool inputs as people read them ---------------------------------------------------

_SALIENT_FIELD = {
    "Bash": "command",
    "Read": "file_path",
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
    "Glob": "pattern",
    "Grep": "pattern",
    "WebFetch": "url",
    "WebSearch": "query",
    "Task": "description",
    "Agent": "description",
    "Skill": "skill",
}


def tool_input_summary(
    tool_name: str,
    tool_input: Mapping[str, Any],
    *,
    limit: int = 100,
    redact: Redactor | None = None,
) -> str:
    """One line naming what a tool call is about (Bash's command, Read's path), redacted."""
    redact = redact or Redactor()
    field = _SALIENT_FIELD.get(tool_name)
    value = tool_input.get(field) if field else None
    if not isinstance(value, str) or not value.strip():
        value = _compact_json(tool_input) if tool_input else ""
    return _one_line(redact(value), limit)


def tool_input_details(
    tool_name: str,
    tool_input: Mapping[str, Any],
    *,
    limit: int = 1500,
    redact: Redactor | None = None,
) -> str:
    """The whole input, readable and redacted: Bash's command as is, others as JSON."""
    redact = redact or Redactor()
    command = tool_input.get("command")
    if tool_name == "Bash" and isinstance(command, str):
        text = command
        description = tool_input.get("description")
        if isinstance(description, str) and description.strip():
            text = f"# {description.strip()}\n{command}"
    elif not tool_input:
        return ""
    else:
        text = json.dumps(dict(tool_input), indent=2, ensure_ascii=False, default=str)
    return _truncate(redact(text), limit)


# -- small text helpers ------------------------------------------------------------------


def _one_line(text: str, limit: int) -> str:
    return _truncate(" ".join(text.split()), limit)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    return text[: limit - 1].rstrip() + "…"


def _compact_json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), ensure_ascii=False, separators=(", ", ": "), default=str)


def _unique_labels(raw: Sequence[str], *, reserved: Sequence[str] = ()) -> list[str]:
    taken = {label.casefold() for label in reserved}
    labels: list[str] = []
    for index, label in enumerate(raw, start=1):
        base = _one_line(label, MAX_LABEL_LENGTH) or f"Option {index}"
        candidate, n = base, 2
        while candidate.casefold() in taken:
            suffix = f" ({n})"
            candidate = _truncate(base, MAX_LABEL_LENGTH - len(suffix)) + suffix
            n += 1
        taken.add(candidate.casefold())
        labels.append(candidate)
    return labels


def _fenced(text: str) -> str:
    """A code block that ``text`` cannot close early, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def _code_span(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"
