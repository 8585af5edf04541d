"""Speech to text behind one small seam, so voice notes become prompts.

Two backends: any OpenAI-compatible ``/audio/transcriptions`` endpoint (hosted services
and local whisper servers speak it) and, with the ``claude-baton[voice]`` extra, a local
faster-whisper model. Neither knows about chats; :mod:`chat_adapters.voice` does.
"""

from __future__ import annotations

import asyncio
import importlib
import io
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import structlog

log = structlog.get_logger(__name__)

REQUEST_TIMEOUT_S = 120.0
"""A long note on a slow local server can take a while; a hung one must not hang a chat."""


class TranscriptionError(Exception):
    """The audio could not be turned into text; the message is fit for the chat."""


class Transcriber(Protocol):
    """Turns one audio clip into text."""

    @property
    def description(self) -> str:
        """What does the work, for logs and ``/status`` (never a secret)."""
        ...

    async def transcribe(self, data: bytes, media_type: str, name: str) -> str:
        """The words heard in ``data`` (an audio file of ``media_type``), stripped."""
        ...


_EXTENSIONS = {
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/webm": ".webm",
    "audio/flac": ".flac",
    "video/mp4": ".mp4",
}


def upload_name(name: str, media_type: str) -> str:
    """A file name whose extension the endpoint recognises (some look only at that)."""
    base = name.rsplit("/", 1)[-1] or "audio"
    if "." in base:
        return base
    return base + _EXTENSIONS.get(media_type.split(";")[0].strip().lower(), ".ogg")


@dataclass(frozen=True)
class OpenAITranscriber:
    """POSTs the clip to ``<base_url>/audio/transcriptions`` as multipart form data."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = REQUEST_TIMEOUT_S

    def __repr__(self) -> str:  # never print the key
        return f"OpenAITranscriber(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def endpoint(self) -> str:
        root = self.base_url.rstrip("/")
        return root if root.endswith("/audio/transcriptions") else f"{root}/audio/transcriptions"

    @property
    def description(self) -> str:
        return f"{self.model} at {self.endpoint}"

    async def transcribe(self, data: bytes, media_type: str, name: str) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        files = {"file": (upload_name(name, media_type), data, media_type)}
        form = {"model": self.model, "response_format": "json"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(self.endpoint, headers=headers, data=form, files=files)
        except httpx.HTTPError as exc:
            log.warning("transcription_unreachable", endpoint=self.endpoint, error=repr(exc))
            raise TranscriptionError("the transcription service could not be reached") from exc
        if response.status_code >= 400:
            log.warning(
                "transcription_refused", endpoint=self.endpoint, status=response.status_code
            )
            raise TranscriptionError(
                f"the transcription service answered HTTP {response.status_code}"
            )
        return _text_of(response)


def _text_of(response: httpx.Response) -> str:
    if "json" in response.headers.get("content-type", ""):
        try:
            body: Any = response.json()
        except ValueError as exc:
            raise TranscriptionError("the transcription service sent broken JSON") from exc
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise TranscriptionError("the transcription service sent no text")
        return text.strip()
    return response.text.strip()


MISSING_EXTRA = (
    "Local transcription needs the voice extra: install claude-baton[voice] "
    "(for example `uv sync --extra voice`), or set BATON_TRANSCRIBE_URL instead."
)


class WhisperTranscriber:
    """A local faster-whisper model, loaded on first use and run off the event loop."""

    def __init__(self, model: str) -> None:
        self.model_name = model
        self._model: Any = None
        self._lock = asyncio.Lock()

    @property
    def description(self) -> str:
        return f"faster-whisper {self.model_name} (local)"

    def _load(self) -> Any:
        try:
            module = importlib.import_module("faster_whisper")
        except ImportError as exc:
            raise TranscriptionError(MISSING_EXTRA) from exc
        return module.WhisperModel(self.model_name)

    def _run(self, data: bytes) -> str:
        if self._model is None:
            self._model = self._load()
        segments, _info = self._model.transcribe(io.BytesIO(data))
        return " ".join(str(s.text).strip() for s in segments).strip()

    async def transcribe(self, data: bytes, media_type: str, name: str) -> str:
        async with self._lock:  # one model, one clip at a time: notes stay in order
            return await asyncio.to_thread(self._run, data)


def check_whisper_available() -> None:
    """Raise :class:`TranscriptionError` with :data:`MISSING_EXTRA` when the extra is absent.

    Called at start-up so a misconfiguration is reported once, at once, not per note.
    """
    try:
        importlib.import_module("faster_whisper")
    except ImportError as exc:
        raise TranscriptionError(MISSING_EXTRA) from exc
