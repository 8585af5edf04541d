"""FakeAnthropic answers what the Claude CLI needs, at the HTTP level (no CLI here)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.fakes.anthropic import FakeAnthropic, Reply, last_prompt, long_text


def _post(fake: FakeAnthropic, path: str, body: dict[str, Any], **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(
        fake.url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _body(prompt: str, **extra: Any) -> dict[str, Any]:
    reminder = {"type": "text", "text": "<system-reminder>ctx</system-reminder>"}
    return {
        "model": "claude-fake-1",
        "stream": True,
        "messages": [
            {"role": "user", "content": [reminder, {"type": "text", "text": prompt}]},
            {"role": "system", "content": "environment details"},
        ],
        "an_unknown_field": {"never": "a 400"},
        **extra,
    }


def _sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        name, data = block.split("\n", 1)
        events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def _streamed_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(
        d["delta"]["text"]
        for n, d in events
        if n == "content_block_delta" and d["delta"]["type"] == "text_delta"
    )


@pytest.fixture
def fake() -> Any:
    with FakeAnthropic(slow_delay_s=0.01) as server:
        yield server


def test_streams_the_numbered_echo_and_echoes_the_model(fake: FakeAnthropic) -> None:
    status, raw = _post(
        fake, "/v1/messages?beta=true", _body("hello"), **{"x-claude-code-session-id": "s1"}
    )
    assert status == 200
    events = _sse(raw)
    assert [n for n, _ in events][:2] == ["message_start", "ping"]
    assert events[-1][0] == "message_stop"
    assert events[0][1]["message"]["model"] == "claude-fake-1"
    assert _streamed_text(events) == "FAKE-REPLY #1 to: hello"
    assert [r.session_id for r in fake.requests_for_session("s1")] == ["s1"]
    assert fake.messages_requests()[0].path == "/v1/messages"


def test_stream_false_gets_one_json_message(fake: FakeAnthropic) -> None:
    status, raw = _post(fake, "/v1/messages", _body("plain", stream=False))
    message = json.loads(raw)
    assert status == 200
    assert message["content"] == [{"type": "text", "text": "FAKE-REPLY #1 to: plain"}]
    assert message["usage"]["input_tokens"] == 10


def test_prompt_skips_system_reminders_and_system_messages(fake: FakeAnthropic) -> None:
    _post(fake, "/v1/messages", _body("the real prompt"))
    assert last_prompt(fake.messages_requests()[0]) == "the real prompt"
    assert fake.prompts() == ["the real prompt"]


def test_directives_error_long_slow_and_tool(fake: FakeAnthropic) -> None:
    status, raw = _post(fake, "/v1/messages", _body("ERROR:529"))
    assert status == 529
    assert json.loads(raw)["error"]["message"] == "fake 529"

    _, raw = _post(fake, "/v1/messages", _body("LONG:5000"))
    assert _streamed_text(_sse(raw)) == long_text(5000)
    assert len(long_text(5000)) == 5000 and "\n\n" in long_text(5000)

    _, raw = _post(fake, "/v1/messages", _body("SLOW:4"))
    deltas = [d for n, d in _sse(raw) if n == "content_block_delta"]
    assert len(deltas) == 4

    _, raw = _post(fake, "/v1/messages", _body('TOOL:Bash {"command": "echo hi"}'))
    events = _sse(raw)
    start = next(d for n, d in events if n == "content_block_start")
    assert start["content_block"]["name"] == "Bash"
    partial = next(d for n, d in events if n == "content_block_delta")["delta"]["partial_json"]
    assert json.loads(partial) == {"command": "echo hi"}
    assert next(d for n, d in events if n == "message_delta")["delta"]["stop_reason"] == "tool_use"


def test_tool_result_gets_the_final_text(fake: FakeAnthropic) -> None:
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "hi", "is_error": False}
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": [result]}]}
    _, raw = _post(fake, "/v1/messages", body)
    assert _streamed_text(_sse(raw)) == "FAKE-REPLY #1 after tool: hi"


def test_scripted_replies_and_the_hook_take_precedence(fake: FakeAnthropic) -> None:
    fake.script("first scripted", Reply.error(503))
    _, raw = _post(fake, "/v1/messages", _body("x"))
    assert _streamed_text(_sse(raw)) == "first scripted"
    assert _post(fake, "/v1/messages", _body("x"))[0] == 503
    fake.responder = lambda request, n: Reply(text=f"hooked {n}: {last_prompt(request)}")
    _, raw = _post(fake, "/v1/messages", _body("y"))
    assert _streamed_text(_sse(raw)) == "hooked 3: y"


def test_count_tokens_and_unknown_paths(fake: FakeAnthropic) -> None:
    status, raw = _post(fake, "/v1/messages/count_tokens", _body("count me"))
    assert status == 200 and json.loads(raw)["input_tokens"] > 0
    status, raw = _post(fake, "/api/whatever", {})
    assert status == 404 and json.loads(raw)["type"] == "error"
    assert fake.messages_requests() == [], "neither is a model call"


def test_cut_off_stream_stops_after_message_start(fake: FakeAnthropic) -> None:
    fake.script(Reply(text="never sent", cut_after_start=True))
    _, raw = _post(fake, "/v1/messages", _body("x"))
    assert [n for n, _ in _sse(raw)] == ["message_start"]
