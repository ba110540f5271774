"""asyncio face of an engine stream, for the transports.

``CaptionStream`` is channel in -> engine -> channel out: audio goes in with
:meth:`CaptionStream.push` (never blocks), captions come out by async
iteration. When the consumer is slow, queued interim captions of a segment are
replaced by newer ones of the same segment; final captions are never dropped.
:meth:`CaptionStream.aclose` is bounded: a stream whose last final does not
come in time is dropped from the engine, so its slot is returned either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator

import numpy as np
from numpy.typing import NDArray

from roomscribe import timing
from roomscribe.asr.backend import SAMPLE_RATE
from roomscribe.asr.engine import Engine, EngineStream
from roomscribe.asr.events import Caption

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 10.0
"""How long :meth:`CaptionStream.aclose` waits for the last final caption."""


def pcm16_to_float(data: bytes | memoryview | NDArray[np.int16]) -> NDArray[np.float32]:
    """16-bit PCM to float32 in [-1, 1]."""
    pcm = np.frombuffer(data, dtype=np.int16) if not isinstance(data, np.ndarray) else data
    return pcm.astype(np.float32) / 32768.0


class CaptionStream:
    """One audio track's captions, as an async iterator."""

    def __init__(
        self,
        engine: Engine,
        *,
        language: str | None = None,
        vocabulary: tuple[str, ...] | None = None,
        close_timeout_s: float = CLOSE_TIMEOUT_S,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._close_timeout_s = close_timeout_s
        self._queue: deque[Caption] = deque()
        self._wakeup = asyncio.Event()
        self._finished = False
        self._done = asyncio.Event()
        self._pushed_s = 0.0
        self._last_push = time.monotonic()
        self._stream: EngineStream = engine.open_stream(
            self._on_caption_threadsafe,
            language=language,
            vocabulary=vocabulary,
            on_closed=self._on_closed_threadsafe,
        )

    def push(self, audio: NDArray[np.float32]) -> None:
        """Add 16 kHz mono float32 audio."""
        self._stream.push(audio)
        self._pushed_s += len(audio) / SAMPLE_RATE
        self._last_push = time.monotonic()

    def push_pcm16(self, data: bytes | memoryview | NDArray[np.int16]) -> None:
        """Add 16 kHz mono 16-bit PCM."""
        self.push(pcm16_to_float(data))

    @property
    def pushed_s(self) -> float:
        """Seconds of audio pushed so far (the stream time of the next sample)."""
        return self._pushed_s

    def age_of(self, stream_time_s: float) -> float:
        """Seconds since the audio at ``stream_time_s`` (a caption's ``end``) arrived.

        Live audio arrives in real time, so the sample at ``t`` came in
        ``pushed - t`` seconds of audio before the latest push: this is the
        caption's latency after the speech it holds (the ``final_latency`` metric).
        """
        return time.monotonic() - self._last_push + max(0.0, self._pushed_s - stream_time_s)

    def set_language(self, language: str | None) -> None:
        self._stream.set_language(language)

    def set_vocabulary(self, terms: tuple[str, ...]) -> None:
        """Terms likely to be spoken (names, acronyms), for the decodes from now on."""
        self._stream.set_vocabulary(terms)

    def set_translation(self, target: str | None) -> None:
        """See :meth:`roomscribe.asr.engine.EngineStream.set_translation`."""
        self._stream.set_translation(target)

    @property
    def failed(self) -> bool:
        """The engine gave this stream up (its decodes kept failing)."""
        return self._stream.failed

    def close_nowait(self) -> None:
        """Start finalizing the pending tail (no more audio); iteration ends after it."""
        self._stream.close()

    async def aclose(self) -> None:
        """Finalize the pending tail; iteration ends after its final caption.

        Returns within ``close_timeout_s``: past it the stream is dropped from
        the engine (its pending finals are lost, and logged).
        """
        self._stream.close()
        try:
            async with asyncio.timeout(self._close_timeout_s):
                await self._done.wait()
        except TimeoutError:
            log.warning(
                "the last captions of a stream did not come within %.0f s", self._close_timeout_s
            )
            self._stream.abort()
            self._finish()

    def __aiter__(self) -> AsyncIterator[Caption]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Caption]:
        while True:
            while self._queue:
                yield self._queue.popleft()
            if self._finished:
                return
            self._wakeup.clear()
            await self._wakeup.wait()

    def _on_caption_threadsafe(self, caption: Caption) -> None:
        if timing.enabled():
            timing.mark(
                "engine_out",
                segment=caption.segment_id,
                final=int(caption.final),
                revision=caption.revision,
                start=f"{caption.start:.3f}",
                end=f"{caption.end:.3f}",
                pushed=f"{self._pushed_s:.3f}",
            )
        # a caption after the loop closed (a stream aborted at shutdown) has no reader
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._enqueue, caption)

    def _on_closed_threadsafe(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._finish)

    def _enqueue(self, caption: Caption) -> None:
        last = self._queue[-1] if self._queue else None
        if last is not None and not last.final and last.segment_id == caption.segment_id:
            self._queue[-1] = caption  # slow consumer: a newer interim replaces the queued one
        else:
            self._queue.append(caption)
        self._wakeup.set()

    def _finish(self) -> None:
        self._finished = True
        self._wakeup.set()
        self._done.set()
