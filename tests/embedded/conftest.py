"""Embedded-mode fixtures: engines, a real uvicorn server, an aiortc client.

The server runs in its own thread and event loop (as in production: a separate
process talking HTTP + WebRTC), the client in the test's loop.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import av
import httpx
import numpy as np
import pytest
import uvicorn
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from fastapi import FastAPI
from numpy.typing import NDArray

from roomscribe.asr.backend import DecodeRequest, DecodeResult
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.events import Word
from roomscribe.asr.vad import SileroModel
from roomscribe.asr.whisper import WhisperOptions
from roomscribe.protocol import DATA_CHANNEL_LABEL
from roomscribe.runtime import build_engine
from roomscribe.server.embedded import EmbeddedService
from roomscribe.settings.asr import AsrOptions
from roomscribe.settings.embedded import EmbeddedOptions

RATE_IN = 16_000
RATE_OUT = 48_000
FRAME_S = 0.02


# -- engines ---------------------------------------------------------------------


class ScriptedBackend:
    """Says NATO alphabet words, one per 0.4 s of audio; no model needed."""

    WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")

    @property
    def multilingual(self) -> bool:
        return False

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        out = []
        for req in requests:
            dur = len(req.audio) / RATE_IN
            words = tuple(
                Word(i * 0.4, i * 0.4 + 0.3, " " + self.WORDS[i % len(self.WORDS)], 0.9)
                for i in range(int(dur / 0.4))
            )
            out.append(DecodeResult(words, "en", 1.0, 0.0, -0.2, 1.2))
        return out


@pytest.fixture(scope="session")
def scripted_engine() -> Iterator[Engine]:
    """Real VAD and engine thread, scripted recognizer."""
    engine = Engine(ScriptedBackend(), SileroModel(), EngineOptions(max_streams=8))
    with engine:
        yield engine


@pytest.fixture(scope="session")
def whisper_engine() -> Iterator[Engine]:
    """The real engine with Whisper tiny.en, built once per test session."""
    engine = build_engine(AsrOptions(whisper=WhisperOptions(model="tiny.en")))
    with engine:
        yield engine


# -- the server ------------------------------------------------------------------


class UvicornThread:
    """An ASGI app served by uvicorn on a free port, in its own thread and loop."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        # proxy_headers off, as `roomscribe serve` runs it: the app handles X-Forwarded-*.
        config = uvicorn.Config(
            app, log_level="warning", loop="asyncio", lifespan="on", proxy_headers=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            assert self._thread.is_alive(), "uvicorn failed to start"
            assert time.monotonic() < deadline, "uvicorn did not start in 60 s"
            time.sleep(0.02)

    def stop(self) -> None:
        """Shut down as Ctrl-C does (the app's lifespan exit runs); idempotent."""
        self._server.should_exit = True
        self._thread.join(60)
        assert not self._thread.is_alive(), "uvicorn did not stop"
        self._sock.close()


@dataclass
class RunningServer:
    """A test app around one :class:`EmbeddedService`, with every caption recorded."""

    uvicorn: UvicornThread
    service: EmbeddedService
    captions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every caption any session produced, as ``(session_id, message)`` (the hook)."""

    @property
    def url(self) -> str:
        return self.uvicorn.url

    def stop(self) -> None:
        self.uvicorn.stop()
        assert not self.service.sessions, "sessions left open after shutdown"

    def session_count(self) -> int:
        return len(self.service.sessions)

    def captions_of(self, session_id: str) -> list[dict[str, Any]]:
        return [m for sid, m in list(self.captions) if sid == session_id]


def _app(service: EmbeddedService) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await service.start()
        yield
        await service.aclose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(service.router)
    return app


@contextmanager
def serve_embedded(engine: Engine, options: EmbeddedOptions) -> Iterator[RunningServer]:
    """An :class:`EmbeddedService` app in uvicorn; shut down (sessions finalized) on exit."""
    captions: list[tuple[str, dict[str, Any]]] = []
    service = EmbeddedService(
        engine, options, caption_hook=lambda sid, msg: captions.append((sid, msg))
    )
    running = RunningServer(UvicornThread(_app(service)), service, captions)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def start_server() -> Iterator[Callable[[Engine, EmbeddedOptions], RunningServer]]:
    """Factory: ``start_server(engine, options)``; every server is stopped after the test."""
    stack: list[Any] = []

    def start(engine: Engine, options: EmbeddedOptions) -> RunningServer:
        cm = serve_embedded(engine, options)
        running = cm.__enter__()
        stack.append(cm)
        return running

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


async def wait_for(predicate: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


# -- the client ------------------------------------------------------------------


def to_48k(audio: NDArray[np.float32]) -> NDArray[np.int16]:
    """16 kHz float32 -> 48 kHz int16, as a browser would capture it."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = RATE_IN
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE_OUT)
    out = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([f.to_ndarray().reshape(-1) for f in out])


class WavTrack(MediaStreamTrack):  # type: ignore[misc]
    """Plays audio as 20 ms 48 kHz frames paced in real time.

    ``after``: what happens once the audio is played: ``"silence"`` (keep
    sending zeros), ``"stall"`` (send nothing more, like a frozen tab) or
    ``"end"`` (the track ends).
    """

    kind = "audio"

    def __init__(self, audio16k: NDArray[np.float32], *, after: str = "silence") -> None:
        super().__init__()
        self._pcm = to_48k(audio16k)
        self._after = after
        self._n = 0
        self._t0: float | None = None
        self._stalled = asyncio.Event()
        self.samples_sent = 0

    @property
    def seconds_sent(self) -> float:
        return self.samples_sent / RATE_OUT

    async def recv(self) -> av.AudioFrame:
        step = int(RATE_OUT * FRAME_S)
        start = self._n * step
        if start >= len(self._pcm):
            if self._after == "end":
                self.stop()
                raise MediaStreamError
            if self._after == "stall":
                await self._stalled.wait()
        loop = asyncio.get_running_loop()
        if self._t0 is None:
            self._t0 = loop.time()
        delay = self._t0 + self._n * FRAME_S - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        chunk = self._pcm[start : start + step]
        if len(chunk) < step:
            chunk = np.concatenate([chunk, np.zeros(step - len(chunk), dtype=np.int16)])
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE_OUT
        frame.pts = self._n * step
        frame.time_base = fractions.Fraction(1, RATE_OUT)
        self._n += 1
        self.samples_sent = min(start + step, len(self._pcm))
        return frame


class CaptionClient:
    """A browser tab stand-in: sends one track, reads the captions channel."""

    def __init__(
        self,
        track: MediaStreamTrack | Sequence[MediaStreamTrack] | None,
        *,
        channel_label: str | None = "captions",
    ) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.messages: list[dict[str, Any]] = []
        self.channel_labels: list[str] = []
        tracks = [] if track is None else [track] if isinstance(track, MediaStreamTrack) else track
        for t in tracks:
            self.pc.addTransceiver(t, direction="sendonly")
        if channel_label is not None:
            self._listen(self.pc.createDataChannel(channel_label))
        self.pc.on("datachannel", self._listen)

    def _listen(self, channel: Any) -> None:
        self.channel_labels.append(channel.label)
        self.channel = channel
        if channel.label == DATA_CHANNEL_LABEL:
            channel.on("message", lambda data: self.messages.append(json.loads(data)))

    @property
    def captions(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "caption"]

    async def offer_sdp(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def connect(self, url: str, **fields: Any) -> dict[str, Any]:
        """POST the offer, apply the answer; returns the answer JSON."""
        sdp = await self.offer_sdp()
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(f"{url}/api/offer", json={"sdp": sdp, "type": "offer", **fields})
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return answer

    async def close(self) -> None:
        await self.pc.close()


@pytest.fixture
async def clients(
    start_server: Callable[[Engine, EmbeddedOptions], RunningServer],
) -> AsyncIterator[Callable[..., CaptionClient]]:
    """Factory for :class:`CaptionClient`; clients are closed before the servers stop."""
    made: list[CaptionClient] = []

    def make(*args: Any, **kwargs: Any) -> CaptionClient:
        client = CaptionClient(*args, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
