"""The live engine: one model, one scheduler thread, many streams.

Transports (LiveKit rooms, embedded aiortc peers) open one
:class:`EngineStream` per audio track and push 16 kHz mono audio into it from
any thread; captions come back through the stream's callback, called from the
engine thread. Async code uses :class:`roomscribe.aio.CaptionStream`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import Backend
from roomscribe.asr.events import Caption
from roomscribe.asr.policy import PolicyOptions, StreamPolicy
from roomscribe.asr.scheduler import Scheduler, SchedulerOptions
from roomscribe.asr.vad import VadModel

log = logging.getLogger(__name__)


class CapacityError(RuntimeError):
    """The engine already serves its maximum number of streams."""


@dataclass(frozen=True, slots=True)
class EngineOptions:
    max_streams: int = 8
    """Streams one engine accepts (what the benchmark shows it keeps up with)."""
    audio_gap_s: float = 1.0
    """A stream that receives no audio this long (a muted mic sends none) has its
    open utterance finalized, instead of waiting for audio that may never come."""
    policy: PolicyOptions = field(default_factory=PolicyOptions)
    scheduler: SchedulerOptions = field(default_factory=SchedulerOptions)


class EngineStream:
    """One audio stream inside an :class:`Engine`. Thread-safe."""

    def __init__(
        self,
        engine: Engine,
        policy: StreamPolicy,
        on_caption: Callable[[Caption], None],
        on_closed: Callable[[], None] | None,
    ) -> None:
        self._engine = engine
        self.policy = policy
        self.on_caption = on_caption
        self.on_closed = on_closed
        self.closed = threading.Event()
        """Set once the stream is closed and its last final caption was delivered."""
        self.last_audio = time.monotonic()

    def push(self, audio: NDArray[np.float32]) -> None:
        """Add 16 kHz mono float32 samples; returns at once."""
        self._engine._push(self, audio)

    def set_language(self, language: str | None) -> None:
        self._engine._locked(lambda: self.policy.set_language(language))

    def close(self) -> None:
        """Finalize the pending tail; ``closed`` is set when that is delivered."""
        self._engine._close_stream(self)


class Engine:
    """Runs the shared scheduler in a background thread."""

    def __init__(
        self, backend: Backend, vad: VadModel, options: EngineOptions | None = None
    ) -> None:
        self.options = options or EngineOptions()
        self._vad = vad
        self._scheduler = Scheduler(backend, self.options.scheduler)
        self._streams: dict[StreamPolicy, EngineStream] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._ids = 0

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="roomscribe-engine", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Finalize every open stream, then stop the thread."""
        with self._cond:
            for stream in list(self._streams.values()):
                stream.policy.close()
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- streams ---------------------------------------------------------------

    @property
    def active_streams(self) -> int:
        with self._cond:
            return len(self._streams)

    @property
    def load(self) -> float:
        """Share of stream capacity in use, 0.0-1.0 (the worker's load)."""
        return min(1.0, self.active_streams / self.options.max_streams)

    def open_stream(
        self,
        on_caption: Callable[[Caption], None],
        *,
        language: str | None = None,
        on_closed: Callable[[], None] | None = None,
    ) -> EngineStream:
        """Start a stream; raises :class:`CapacityError` when the engine is full."""
        with self._cond:
            if self._stopping:
                raise RuntimeError("engine is closed")
            if len(self._streams) >= self.options.max_streams:
                raise CapacityError(f"all {self.options.max_streams} caption streams are in use")
            self._ids += 1
            opts = self.options.policy
            if language is not None:
                opts = replace(opts, language=language)
            policy = StreamPolicy(self._vad, opts, stream_id=f"s{self._ids}")
            stream = EngineStream(self, policy, on_caption, on_closed)
            self._streams[policy] = stream
            self._scheduler.add(policy)
            self._cond.notify_all()
            return stream

    def _push(self, stream: EngineStream, audio: NDArray[np.float32]) -> None:
        with self._cond:
            if stream.policy not in self._streams:
                return  # closed: late frames are dropped
            if stream.policy.done or stream.closed.is_set():
                return
            try:
                stream.policy.feed(audio)
            except RuntimeError:
                return
            stream.last_audio = time.monotonic()
            self._cond.notify_all()

    def _close_stream(self, stream: EngineStream) -> None:
        with self._cond:
            stream.policy.close()
            self._cond.notify_all()

    def _locked(self, fn: Callable[[], None]) -> None:
        with self._cond:
            fn()
            self._cond.notify_all()

    # -- the engine thread -------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                finished = self._reap()
                self._end_silent_utterances()
                batch = self._scheduler.next_batch()
                if not batch:
                    if self._stopping and not self._streams:
                        break
                    if not finished:
                        self._cond.wait(0.05)
            self._notify_closed(finished)
            if not batch:
                continue
            try:
                results = self._scheduler.decode(batch)
            except Exception:
                log.exception("batched decode failed; retrying its jobs one by one")
                outputs = self._scheduler.run_isolated(batch, self._cond)
            else:
                with self._cond:
                    outputs = self._scheduler.apply(batch, results)
            for policy, captions in outputs:
                stream = self._streams.get(policy)
                if stream is None:
                    continue
                for caption in captions:
                    try:
                        stream.on_caption(caption)
                    except Exception:
                        log.exception("caption callback failed")

    def _end_silent_utterances(self) -> None:
        deadline = time.monotonic() - self.options.audio_gap_s
        for stream in self._streams.values():
            if stream.last_audio < deadline:
                stream.policy.end_utterance()

    def _reap(self) -> list[EngineStream]:
        done = [s for p, s in self._streams.items() if p.done]
        for stream in done:
            del self._streams[stream.policy]
            self._scheduler.remove(stream.policy)
        return done

    @staticmethod
    def _notify_closed(streams: list[EngineStream]) -> None:
        for stream in streams:
            stream.closed.set()
            if stream.on_closed is not None:
                try:
                    stream.on_closed()
                except Exception:
                    log.exception("stream close callback failed")
