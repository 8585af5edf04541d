"""FakeAnthropic: a stdlib fake of the Anthropic Messages API for the real Claude CLI.

It answers exactly what Claude Code 2.1.330 needs (reference/claude-code-offline.md §3):
SSE for ``POST /v1/messages?beta=true`` with ``stream: true``, one JSON message otherwise (the
``stream: false`` fallback, the model check of ``/model``), ``count_tokens``, and a JSON 404
for everything else, so nothing ever hangs.
It never answers 400 (the CLI would retry six times, degrading its request).

What it replies is scriptable, in this order of precedence:

1. ``fake.responder``: a per-test hook ``(request, n) -> Reply | None``;
2. ``fake.script(*replies)``: a FIFO queue of replies for the next model calls;
3. directives in the prompt (the last user message, ``<system-reminder>`` blocks skipped):
   ``SLOW:n`` (n slow deltas, for interrupts), ``TOOL:<name> <json input>`` (a tool call,
   then the final text once the tool result comes back), ``ERROR:<status>``, ``LONG:<n>``
   (an n-character reply, for message splitting);
4. otherwise ``FAKE-REPLY #n to: <prompt>``, where n counts model calls from 1.

Every request is logged (thread-safe) with its path, headers and JSON body; the
``x-claude-code-session-id`` header tells sessions apart on one server.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

SESSION_HEADER = "x-claude-code-session-id"
FAKE_USAGE_INPUT = 10
FAKE_USAGE_OUTPUT = 5
_SYSTEM_REMINDER = "<system-reminder>"
_DIRECTIVE = re.compile(r"\b(SLOW|ERROR|LONG):(\d+)\b")
_TOOL_DIRECTIVE = re.compile(r"\bTOOL:(\w+)\s*")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP request the fake received. ``path`` has no query string."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    received_at: float

    @property
    def session_id(self) -> str | None:
        return self.headers.get(SESSION_HEADER)

    @property
    def is_messages(self) -> bool:
        return self.method == "POST" and self.path == "/v1/messages"

    @property
    def messages(self) -> list[dict[str, Any]]:
        body = self.body if isinstance(self.body, dict) else {}
        messages = body.get("messages")
        return messages if isinstance(messages, list) else []

    @property
    def model(self) -> str:
        body = self.body if isinstance(self.body, dict) else {}
        model = body.get("model")
        return model if isinstance(model, str) else "claude-fake"


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    input: dict[str, Any]
    id: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """What the fake answers to one model call.

    ``text`` is streamed in ``chunks`` deltas with ``delay_s`` between them; a ``tool``
    makes it a tool call instead (the text, if any, comes first). ``status`` other than
    200 answers with an Anthropic-style JSON error. ``cut_after_start`` closes the
    stream right after ``message_start`` (the CLI then retries with ``stream: false``).
    """

    text: str = ""
    tool: ToolCall | None = None
    chunks: int = 1
    delay_s: float = 0.0
    status: int = 200
    error_message: str = ""
    cut_after_start: bool = False
    cut_after_deltas: int | None = None
    """Close the stream after this many text deltas: an answer cut mid-way."""
    hang_s: float = 0.0
    """Say nothing for this long before the response starts (a request that times out)."""
    input_tokens: int = FAKE_USAGE_INPUT
    output_tokens: int = FAKE_USAGE_OUTPUT

    @classmethod
    def slow(cls, n: int, delay_s: float = 0.25, word: str = "tick ") -> Reply:
        return cls(text=word * n, chunks=n, delay_s=delay_s)

    @classmethod
    def tool_use(cls, name: str, tool_input: dict[str, Any], text: str = "") -> Reply:
        return cls(text=text, tool=ToolCall(name=name, input=tool_input))

    @classmethod
    def ask_user_question(cls, question: str, header: str, options: Iterable[str]) -> Reply:
        """Claude's AskUserQuestion tool call: one single-choice question, its options
        without descriptions."""
        choices = [{"label": label, "description": ""} for label in options]
        return cls.tool_use(
            "AskUserQuestion",
            {
                "questions": [
                    {
                        "question": question,
                        "header": header,
                        "options": choices,
                        "multiSelect": False,
                    }
                ]
            },
        )

    @classmethod
    def error(cls, status: int, message: str = "") -> Reply:
        return cls(status=status, error_message=message or f"fake {status}")

    @classmethod
    def long(cls, n_chars: int, chunks: int = 8) -> Reply:
        return cls(text=long_text(n_chars), chunks=chunks)


Responder = Callable[[RecordedRequest, int], Reply | None]


def long_text(n_chars: int) -> str:
    """Deterministic prose of exactly ``n_chars`` characters, with lines and paragraphs."""
    words = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")
    parts: list[str] = []
    size = 0
    i = 0
    while size < n_chars:
        if i % 97 == 96:
            sep = "\n\n"
        elif i % 13 == 12:
            sep = "\n"
        else:
            sep = " "
        piece = words[i % len(words)] + sep
        parts.append(piece)
        size += len(piece)
        i += 1
    return "".join(parts)[:n_chars]


def _block_texts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
        return
    if not isinstance(content, list):
        return
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text":
            text = block.get("text")
            if isinstance(text, str):
                yield text


def last_user_message(request: RecordedRequest | dict[str, Any]) -> dict[str, Any] | None:
    messages = request.messages if isinstance(request, RecordedRequest) else request["messages"]
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message
    return None


def last_prompt(request: RecordedRequest | dict[str, Any]) -> str:
    """The prompt: the last text block of the last ``role: user`` message.

    ``<system-reminder>`` blocks and ``role: system`` entries are skipped. Only the last
    block counts because the CLI merges consecutive user turns into one message (after an
    interrupt or an API error the previous prompt is still there). Accepts a logged
    request or a raw request body; a tool follow-up request yields ``""``.
    """
    message = last_user_message(request)
    if message is None:
        return ""
    texts = [
        t
        for t in _block_texts(message.get("content"))
        if not t.lstrip().startswith(_SYSTEM_REMINDER)
    ]
    return texts[-1].strip() if texts else ""


def tool_results(request: RecordedRequest | dict[str, Any]) -> list[dict[str, Any]]:
    """The ``tool_result`` blocks of the last user message (empty if it is a prompt)."""
    message = last_user_message(request)
    content = message.get("content") if message else None
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def conversation_text(request: RecordedRequest | dict[str, Any]) -> str:
    """All text the request carries in ``messages`` (any role), for "the earlier turn is
    in the history" assertions."""
    messages = request.messages if isinstance(request, RecordedRequest) else request["messages"]
    out: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        out.extend(_block_texts(content))
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    out.extend(_block_texts(block.get("content")))
    return "\n".join(out)


def _tool_result_text(block: dict[str, Any]) -> str:
    return "".join(_block_texts(block.get("content")))


def reply_from_prompt(prompt: str, n: int, slow_delay_s: float) -> Reply:
    """The default behaviour: directives in the prompt, else the numbered echo."""
    tool = _TOOL_DIRECTIVE.search(prompt)
    if tool is not None:
        rest = prompt[tool.end() :]
        try:
            tool_input, _ = json.JSONDecoder().raw_decode(rest)
        except json.JSONDecodeError:
            tool_input = {}
        if not isinstance(tool_input, dict):
            tool_input = {}
        return Reply.tool_use(tool.group(1), tool_input)
    directive = _DIRECTIVE.search(prompt)
    if directive is not None:
        kind, value = directive.group(1), int(directive.group(2))
        if kind == "SLOW":
            return Reply.slow(value, delay_s=slow_delay_s)
        if kind == "ERROR":
            return Reply.error(value)
        return Reply.long(value)
    text = f"FAKE-REPLY #{n} to: {prompt}"
    return Reply(text=text, chunks=3)


def _split(text: str, chunks: int) -> list[str]:
    """Split ``text`` into at most ``chunks`` non-empty pieces, preferring spaces."""
    if not text:
        return []
    if chunks <= 1:
        return [text]
    size = max(1, -(-len(text) // chunks))
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        space = text.rfind(" ", start + 1, end)
        if end < len(text) and space > start:
            end = space + 1
        pieces.append(text[start:end])
        start = end
    return pieces


class FakeAnthropic:
    """The fake server. Use as a context manager; ``.url`` is the ``ANTHROPIC_BASE_URL``."""

    def __init__(self, *, log_path: str | Path | None = None, slow_delay_s: float = 0.25):
        self.slow_delay_s = slow_delay_s
        self.responder: Responder | None = None
        self._log_path = Path(log_path) if log_path is not None else None
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._calls = 0
        self._tool_ids = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},  # shutdown() waits one poll: keep teardown quick
            name="fake-anthropic",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # scripting ---------------------------------------------------------------------

    def script(self, *replies: Reply | str) -> None:
        """Queue replies for the next model calls (a string is a plain text reply)."""
        with self._lock:
            for reply in replies:
                self._queue.append(Reply(text=reply, chunks=3) if isinstance(reply, str) else reply)

    def clear_script(self) -> None:
        with self._lock:
            self._queue.clear()

    # the log -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def messages_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.is_messages]

    def requests_for_session(self, session_id: str) -> list[RecordedRequest]:
        return [r for r in self.messages_requests() if r.session_id == session_id]

    def prompts(self) -> list[str]:
        """The prompt of every model call, in order (``""`` for tool follow-ups)."""
        return [last_prompt(r) for r in self.messages_requests()]

    @staticmethod
    def last_prompt(request: RecordedRequest | dict[str, Any]) -> str:
        return last_prompt(request)

    def wait_for_requests(self, count: int, timeout_s: float = 10.0) -> list[RecordedRequest]:
        """Block until at least ``count`` model calls arrived (for threads, not the loop)."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.messages_requests()
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {count} model calls, got {len(found)}")
            time.sleep(0.01)

    # request handling (called from server threads) ---------------------------------

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self._requests.append(request)
            if request.is_messages:
                self._calls += 1
            n = self._calls
            if self._log_path is not None:
                line = {
                    "method": request.method,
                    "path": request.path,
                    "query": request.query,
                    "headers": request.headers,
                    "body": request.body,
                }
                with self._log_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(line) + "\n")
        return n

    def _next_tool_id(self) -> str:
        with self._lock:
            self._tool_ids += 1
            return f"toolu_fake_{self._tool_ids}"

    def _choose_reply(self, request: RecordedRequest, n: int) -> Reply:
        responder = self.responder
        if responder is not None:
            chosen = responder(request, n)
            if chosen is not None:
                return chosen
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        results = tool_results(request)
        if results:
            joined = " | ".join(_tool_result_text(b) for b in results)
            return Reply(text=f"FAKE-REPLY #{n} after tool: {joined}", chunks=2)
        return reply_from_prompt(last_prompt(request), n, self.slow_delay_s)


def _message_json(request: RecordedRequest, reply: Reply, tool_id: str, n: int) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    if reply.tool is not None:
        content.append(
            {"type": "tool_use", "id": tool_id, "name": reply.tool.name, "input": reply.tool.input}
        )
    return {
        "id": f"msg_fake_{n}",
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": content,
        "stop_reason": "tool_use" if reply.tool is not None else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": reply.input_tokens,
            "output_tokens": reply.output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def _sse_events(
    request: RecordedRequest, reply: Reply, tool_id: str, n: int
) -> Iterable[tuple[str, dict[str, Any], float]]:
    """(event name, data, sleep before sending) for one streamed reply."""
    start = _message_json(request, reply, tool_id, n)
    start["content"] = []
    start["stop_reason"] = None
    start["usage"] = {**start["usage"], "output_tokens": 1}
    yield "message_start", {"type": "message_start", "message": start}, 0.0
    if reply.cut_after_start:
        return
    yield "ping", {"type": "ping"}, 0.0
    index = 0
    if reply.text:
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
            0.0,
        )
        for i, piece in enumerate(_split(reply.text, reply.chunks)):
            if reply.cut_after_deltas is not None and i >= reply.cut_after_deltas:
                return
            delta = {"type": "text_delta", "text": piece}
            event = {"type": "content_block_delta", "index": index, "delta": delta}
            yield "content_block_delta", event, reply.delay_s if i else 0.0
        yield "content_block_stop", {"type": "content_block_stop", "index": index}, 0.0
        index += 1
    if reply.tool is not None:
        block = {"type": "tool_use", "id": tool_id, "name": reply.tool.name, "input": {}}
        yield (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": block},
            0.0,
        )
        delta = {"type": "input_json_delta", "partial_json": json.dumps(reply.tool.input)}
        yield (
            "content_block_delta",
            {"type": "content_block_delta", "index": index, "delta": delta},
            0.0,
        )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}, 0.0
    stop_reason = "tool_use" if reply.tool is not None else "end_turn"
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": reply.output_tokens},
        },
        0.0,
    )
    yield "message_stop", {"type": "message_stop"}, 0.0


def _handler_for(fake: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeAnthropic/1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _read_body(self) -> Any:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return None
            try:
                return json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return raw.decode("utf-8", "replace")

        def _recorded(self, body: Any) -> tuple[RecordedRequest, int]:
            path, _, query = self.path.partition("?")
            request = RecordedRequest(
                method=self.command,
                path=path,
                query=query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                received_at=time.time(),
            )
            return request, fake._record(request)

        def _send_json(self, status: int, payload: dict[str, Any], *, head: bool = False) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", "req_fake")
            self.send_header("connection", "close")
            self.end_headers()
            if not head:
                self.wfile.write(data)
            self.close_connection = True

        def _not_found(self, *, head: bool = False) -> None:
            self._send_json(
                HTTPStatus.NOT_FOUND,
                {"type": "error", "error": {"type": "not_found_error", "message": "not found"}},
                head=head,
            )

        def do_HEAD(self) -> None:
            self._recorded(None)
            self._not_found(head=True)

        def do_GET(self) -> None:
            self._recorded(None)
            self._not_found()

        def do_POST(self) -> None:
            request, n = self._recorded(self._read_body())
            if request.path == "/v1/messages/count_tokens":
                tokens = max(1, len(json.dumps(request.body)) // 4)
                self._send_json(200, {"input_tokens": tokens})
                return
            if not request.is_messages:
                self._not_found()
                return
            reply = fake._choose_reply(request, n)
            if reply.hang_s:
                time.sleep(reply.hang_s)
            if reply.status != 200:
                error = {"type": "api_error", "message": reply.error_message}
                self._send_json(reply.status, {"type": "error", "error": error})
                return
            tool_id = (reply.tool.id or fake._next_tool_id()) if reply.tool else ""
            body = request.body if isinstance(request.body, dict) else {}
            if body.get("stream") is not True:  # as the API: no "stream" is not streamed
                self._send_json(200, _message_json(request, reply, tool_id, n))
                return
            self._stream(request, reply, tool_id, n)

        def _stream(self, request: RecordedRequest, reply: Reply, tool_id: str, n: int) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("request-id", "req_fake")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for name, data, pause in _sse_events(request, reply, tool_id, n):
                    if pause:
                        time.sleep(pause)
                    self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the CLI hung up (interrupt): nothing to finish

    return Handler


__all__ = [
    "FAKE_USAGE_INPUT",
    "FAKE_USAGE_OUTPUT",
    "SESSION_HEADER",
    "FakeAnthropic",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ToolCall",
    "conversation_text",
    "last_prompt",
    "last_user_message",
    "long_text",
    "reply_from_prompt",
    "tool_results",
]
