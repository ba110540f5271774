"""asyncio face of an engine stream, for the transports.

``CaptionStream`` is channel in -> engine -> channel out: audio goes in with
:meth:`CaptionStream.push` (never blocks), captions come out by async
iteration. When the consumer is slow, queued interim captions of a segment are
replaced by newer ones of the same segment; final captions are never dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.engine import Engine, EngineStream
from roomscribe.asr.events import Caption


def pcm16_to_float(data: bytes | memoryview | NDArray[np.int16]) -> NDArray[np.float32]:
    """16-bit PCM to float32 in [-1, 1]."""
    pcm = np.frombuffer(data, dtype=np.int16) if not isinstance(data, np.ndarray) else data
    return pcm.astype(np.float32) / 32768.0


class CaptionStream:
    """One audio track's captions, as an async iterator."""

    def __init__(self, engine: Engine, *, language: str | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: deque[Caption] = deque()
        self._wakeup = asyncio.Event()
        self._finished = False
        self._stream: EngineStream = engine.open_stream(
            self._on_caption_threadsafe, language=language, on_closed=self._on_closed_threadsafe
        )

    def push(self, audio: NDArray[np.float32]) -> None:
        """Add 16 kHz mono float32 audio."""
        self._stream.push(audio)

    def push_pcm16(self, data: bytes | memoryview | NDArray[np.int16]) -> None:
        """Add 16 kHz mono 16-bit PCM."""
        self._stream.push(pcm16_to_float(data))

    def set_language(self, language: str | None) -> None:
        self._stream.set_language(language)

    async def aclose(self) -> None:
        """Finalize the pending tail; iteration ends after its final caption."""
        self._stream.close()
        await asyncio.to_thread(self._stream.closed.wait)

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
        self._loop.call_soon_threadsafe(self._enqueue, caption)

    def _on_closed_threadsafe(self) -> None:
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
