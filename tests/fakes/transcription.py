"""A fake OpenAI-compatible ``/audio/transcriptions`` endpoint on 127.0.0.1, and a real
Opus/OGG voice note made with espeak-ng and opusenc.

The fake records what arrived (model, file name, content type, the audio bytes, the
Authorization header) so a test can check the bot sent the very bytes the user did,
and answers each request with the next scripted transcript.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import pytest
from aiohttp import BodyPartReader, web


@dataclass(frozen=True, slots=True)
class TranscriptionRequest:
    model: str | None
    file_name: str | None
    content_type: str | None
    audio: bytes = field(repr=False)
    authorization: str | None


class FakeTranscriber:
    """``async with FakeTranscriber() as fake``: ``fake.base_url`` is the ``/v1`` root."""

    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.requests: list[TranscriptionRequest] = []
        self.replies: deque[str] = deque()
        self.status = 200
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def will_hear(self, *texts: str) -> None:
        self.replies.extend(texts)

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/audio/transcriptions", self._transcribe)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _transcribe(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization")
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        model = file_name = content_type = None
        audio = b""
        async for part in await request.multipart():
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "model":
                model = (await part.read()).decode()
            elif part.name == "file":
                file_name, content_type = part.filename, part.headers.get("Content-Type")
                audio = bytes(await part.read())
        self.requests.append(
            TranscriptionRequest(model, file_name, content_type, audio, authorization)
        )
        if self.status != 200:
            return web.json_response({"error": {"message": "fake failure"}}, status=self.status)
        if not audio or model is None:
            return web.json_response({"error": {"message": "file and model required"}}, status=400)
        text = self.replies.popleft() if self.replies else "fake transcript"
        return web.json_response({"text": text})


def spoken_ogg(tmp_path: Path, words: str = "list the files please") -> bytes:
    """A real Opus-in-OGG voice note of ``words``; skips the test without the tools."""
    espeak, opusenc = shutil.which("espeak-ng"), shutil.which("opusenc")
    if espeak is None or opusenc is None:
        pytest.skip("needs espeak-ng and opusenc (apt-get install espeak-ng opus-tools)")
    wav, ogg = tmp_path / "note.wav", tmp_path / "note.ogg"
    subprocess.run([espeak, "-w", str(wav), words], check=True, capture_output=True)
    subprocess.run([opusenc, "--quiet", str(wav), str(ogg)], check=True, capture_output=True)
    data = ogg.read_bytes()
    assert data.startswith(b"OggS") and b"OpusHead" in data[:200]
    return data
