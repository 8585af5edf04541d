"""ChoicePrompt validates itself; the factories fail closed on timeout."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_adapters.choices import (
    ALLOW_ONCE,
    ALLOW_SESSION,
    APPROVE_PLAN,
    DENY,
    KEEP_PLANNING,
    MAX_LABEL_LENGTH,
    SKIP_QUESTION,
    Choice,
    ChoiceAnswer,
    ChoicePrompt,
    ask_user_question_prompts,
    plan_approval_prompt,
    question_prompt,
    tool_approval_prompt,
    tool_input_details,
    tool_input_summary,
)

YES = Choice("yes", "Yes", "primary")
NO = Choice("no", "No", "danger")


def prompt(**changes: object) -> ChoicePrompt:
    fields: dict[str, object] = {
        "title": "Proceed?",
        "options": (YES, NO),
        "timeout_choice": "no",
        "timeout_s": 10.0,
    }
    fields.update(changes)
    return ChoicePrompt(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "  "}, "title"),
        ({"options": ()}, "no options"),
        ({"options": (YES, Choice("yes", "Other"))}, "repeats an option id"),
        ({"options": (YES, Choice("y2", "yes"))}, "repeats an option label"),
        ({"timeout_s": 0}, "positive"),
        ({"timeout_s": -1.0}, "positive"),
        ({"timeout_s": math.inf}, "positive"),
        ({"timeout_s": math.nan}, "positive"),
        ({"timeout_choice": "maybe"}, "not one of the options"),
        ({"kind": "poll"}, "kind"),
    ],
)
def test_bad_prompts_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prompt(**changes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "Label"), "id"),
        ((" x", "Label"), "id"),
        (("x", "   "), "label"),
        (("x", "two\nlines"), "one line"),
        (("x", "l" * (MAX_LABEL_LENGTH + 1)), "one line"),
    ],
)
def test_bad_choices_are_refused(args: tuple[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Choice(*args)


def test_choice_style_is_checked() -> None:
    with pytest.raises(ValueError, match="style"):
        Choice("x", "X", "loud")  # type: ignore[arg-type]


def test_options_given_as_a_list_become_a_tuple() -> None:
    p = prompt(options=[YES, NO])
    assert p.options == (YES, NO)
    assert hash(p)  # frozen and hashable: safe to keep as a pending-prompt key


def test_answers_are_checked_against_the_prompt() -> None:
    p = prompt(allows_free_text=True)
    assert p.answer("yes") == ChoiceAnswer(choice_id="yes")
    with pytest.raises(KeyError):
        p.answer("maybe")
    assert p.free_text_answer("later") == ChoiceAnswer(text="later")
    assert p.timeout_answer() == ChoiceAnswer(choice_id="no", timed_out=True)
    with pytest.raises(ValueError, match="blank"):
        p.free_text_answer("  ")
    with pytest.raises(ValueError, match="typed"):
        prompt().free_text_answer("hello")


def test_an_answer_is_a_choice_or_text_never_both() -> None:
    with pytest.raises(ValueError):
        ChoiceAnswer()
    with pytest.raises(ValueError):
        ChoiceAnswer(choice_id="a", text="b")
    with pytest.raises(ValueError):
        ChoiceAnswer(text="b", timed_out=True)


def test_tool_approval_times_out_to_deny_and_redacts_secrets() -> None:
    p = tool_approval_prompt(
        "Bash",
        {"command": "curl -H 'x-api-key: sk-ant-api03-abcdefghijklmnop' https://x", "timeout": 5},
        directory="/work/proj",
        reason="Mutating command",
    )
    assert [o.id for o in p.options] == [ALLOW_ONCE, ALLOW_SESSION, DENY]
    assert p.timeout_choice == DENY
    assert p.option(DENY).style == "danger"
    assert p.kind == "approval"
    assert "sk-ant-api03" not in p.body
    assert "curl" in p.body
    assert "`/work/proj`" in p.body
    assert "Mutating command" in p.body


def test_tool_approval_session_scope_names_the_prefix_and_fits_a_button() -> None:
    p = tool_approval_prompt("Bash", {"command": "git push"}, directory="/d", session_scope="git")
    assert p.option(ALLOW_SESSION).label == "Allow git for this session"
    long = tool_approval_prompt("Bash", {}, directory="/d", session_scope="x" * 500)
    assert len(long.option(ALLOW_SESSION).label) <= MAX_LABEL_LENGTH


def test_tool_input_with_backticks_cannot_escape_its_code_block() -> None:
    p = tool_approval_prompt("Bash", {"command": "echo ```\nrm -rf /"}, directory="/d")
    fence = p.body.splitlines()[1]
    assert fence == "````"
    assert p.body.endswith("\n````")


def test_question_prompt_offers_options_plus_skip_on_timeout() -> None:
    p = question_prompt(
        "Which database?",
        [("Postgres", "robust"), ("SQLite", ""), ("Skip", "the model's own skip")],
        header="DB",
    )
    assert p.title == "DB"
    assert [o.id for o in p.options] == ["1", "2", "3", SKIP_QUESTION]
    labels = [o.label for o in p.options]
    assert len({label.casefold() for label in labels}) == len(labels)
    assert p.timeout_choice == SKIP_QUESTION
    assert p.allows_free_text
    assert "Which database?" in p.body
    assert "1. Postgres: robust" in p.body


def test_question_labels_are_cleaned_deduplicated_and_never_lost() -> None:
    long = "A very long option " * 10
    p = question_prompt("Q?", ["same", "Same", "", "multi\nline", long])
    labels = [o.label for o in p.options[:-1]]
    assert labels[:4] == ["same", "Same (2)", "Option 3", "multi line"]
    assert len(labels[4]) <= MAX_LABEL_LENGTH
    assert long.strip() in p.body  # the full text of a cut label is kept in the body


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=6), st.text(max_size=50))
def test_any_model_options_make_a_valid_question(options: list[str], question: str) -> None:
    p = question_prompt(question, options)
    assert len(p.options) == len(options) + 1
    assert p.timeout_choice == SKIP_QUESTION


def test_ask_user_question_input_tolerates_odd_shapes() -> None:
    tool_input = {
        "questions": [
            {
                "question": "Color?",
                "header": "Color",
                "options": [{"label": "Red", "description": "warm"}, "Blue", 7],
                "multiSelect": False,
            },
            "not a question",
            {"question": "Anything else?"},
        ]
    }
    prompts = ask_user_question_prompts(tool_input, timeout_s=30)
    assert [p.title for p in prompts] == ["Color", "Anything else?"]
    assert [o.label for o in prompts[0].options] == ["Red", "Blue", "Skip"]
    assert prompts[1].options[-1].id == SKIP_QUESTION
    assert prompts[0].timeout_s == 30
    assert ask_user_question_prompts({"questions": "nope"}) == []


def test_plan_approval_times_out_to_keep_planning() -> None:
    p = plan_approval_prompt("## Plan\n1. do it\n")
    assert [o.id for o in p.options] == [APPROVE_PLAN, KEEP_PLANNING]
    assert p.timeout_choice == KEEP_PLANNING
    assert p.body == "## Plan\n1. do it"
    assert p.kind == "plan"


def test_tool_input_summary_picks_the_salient_field() -> None:
    assert tool_input_summary("Bash", {"command": "ls  -la\n/tmp"}) == "ls -la /tmp"
    assert tool_input_summary("Read", {"file_path": "/a/b.py"}) == "/a/b.py"
    assert tool_input_summary("Mystery", {"x": 1}) == '{"x": 1}'
    assert len(tool_input_summary("Bash", {"command": "y" * 500}, limit=40)) == 40
    assert tool_input_summary("Bash", {"command": "export TOKEN=abcdef123456"}).endswith(
        "[REDACTED]"
    )


def test_tool_input_details_keeps_bash_readable_and_truncates() -> None:
    details = tool_input_details("Bash", {"command": "make test", "description": "Run tests"})
    assert details == "# Run tests\nmake test"
    assert len(tool_input_details("Write", {"content": "z" * 5000}, limit=100)) == 100
    assert tool_input_details("Write", {}) == ""


def test_a_call_allowed_once_only_offers_no_session_button() -> None:
    p = tool_approval_prompt("Bash", {"command": "bash -c x"}, directory="/d", offer_session=False)
    assert [o.id for o in p.options] == [ALLOW_ONCE, DENY]
    assert p.timeout_choice == DENY
