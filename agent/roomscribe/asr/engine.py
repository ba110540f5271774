"""The live engine: one model, one scheduler thread, many streams.

Transports (LiveKit rooms, embedded aiortc peers) open one
:class:`EngineStream` per audio track and push 16 kHz mono audio into it from
any thread; captions come back through the stream's callback, called from the
engine thread. Async code uses :class:`roomscribe.aio.CaptionStream`.

A push only queues the audio: the VAD runs on a thread of its own (the
feeder), so the caller (the transport's event loop) never waits for the
Silero model or for the engine's lock while a batch is applied; run on the
event loop, it stalled it 100-380 ms at a time with several talkers.

Failures are contained: an exception in a decode, in applying a result or in
a caption callback fails at most that stream's job (see
:mod:`roomscribe.asr.scheduler`), never the thread. If the thread dies anyway
(a ``BaseException``, a bug in the loop itself) or stops coming round (a
decode that hangs), :attr:`Engine.healthy` turns false, :attr:`Engine.load`
reports full, the cause is logged once and every open stream is closed, so
nothing waits for captions that will never come.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from roomscribe import memory
from roomscribe.asr.backend import Backend
from roomscribe.asr.events import Caption
from roomscribe.asr.policy import PolicyOptions, StreamPolicy
from roomscribe.asr.scheduler import Assignment, Scheduler, SchedulerOptions
from roomscribe.asr.vad import VadModel

log = logging.getLogger(__name__)


_FEEDS_PER_LOCK = 8
"""Pushes the feeder runs the VAD over per hold of the engine's lock (a few ms)."""


class CapacityError(RuntimeError):
    """The engine already serves its maximum number of streams."""


@dataclass(frozen=True, slots=True)
class EngineOptions:
    max_streams: int = 8
    """Streams one engine accepts (what the benchmark shows it keeps up with)."""
    audio_gap_s: float = 1.0
    """A stream that receives no audio this long (a muted mic sends none) has its
    open utterance finalized, instead of waiting for audio that may never come."""
    overload_wait_s: float = 4.0
    """A final that has waited this long (stream time, see
    :attr:`~roomscribe.asr.policy.StreamPolicy.final_wait_s`) means the engine
    does not keep up: :attr:`Engine.load` reports full."""
    overload_hold_s: float = 10.0
    """... and keeps reporting full this long after the last such sign, so the
    load does not flap while a backlog drains."""
    stall_s: float = 20.0
    """The engine loop not coming round for this long (a decode that hangs)
    makes it unhealthy: no talking track gets a caption meanwhile, and a LiveKit
    worker then leaves its rooms to other workers and exits (see
    :mod:`roomscribe.livekit.worker`). Well above one batch's decode time on a
    starved CPU (a few seconds), because a false alarm costs every room a heal."""
    trim_every_s: float = 60.0
    """How often the engine thread hands free heap pages back to the system
    (:func:`roomscribe.memory.trim`, a few ms): without it a worker's RSS crept
    up over hours as freed decode buffers stayed with the process."""
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

    @property
    def failed(self) -> bool:
        """Decoding this stream kept failing: it was finalized with the text shown, and closed."""
        return self.policy.failed

    def set_language(self, language: str | None) -> None:
        self._engine._locked(lambda: self.policy.set_language(language))

    def set_vocabulary(self, terms: tuple[str, ...]) -> None:
        """Terms likely to be spoken (names, acronyms); used by decodes from now on."""
        self._engine._locked(lambda: self.policy.set_vocabulary(tuple(terms)))

    def set_translation(self, target: str | None) -> None:
        """Also caption each final in ``target`` (English), or stop (``None``); see
        :mod:`roomscribe.asr.translation`. Raises :class:`ValueError` when the model
        cannot translate (an English-only model such as ``tiny.en``)."""
        if target is not None and not self._engine.backend.multilingual:
            raise ValueError(
                "the model is English-only and cannot translate; "
                "run a multilingual model (e.g. base) for captions in the listener's language"
            )
        self._engine._locked(lambda: self.policy.translations.set_target(target))

    def close(self) -> None:
        """Finalize the pending tail; ``closed`` is set when that is delivered."""
        self._engine._close_stream(self)

    def abort(self) -> None:
        """Drop the stream now, pending finals and all (a close that took too long)."""
        self._engine._abort_stream(self)


class Engine:
    """Runs the shared scheduler in a background thread."""

    def __init__(
        self, backend: Backend, vad: VadModel, options: EngineOptions | None = None
    ) -> None:
        self.options = options or EngineOptions()
        self._vad = vad
        self.backend = backend
        """The model this engine decodes with."""
        self._scheduler = Scheduler(backend, self.options.scheduler)
        self._streams: dict[StreamPolicy, EngineStream] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._feeder: threading.Thread | None = None
        self._inbox: deque[tuple[EngineStream, NDArray[np.float32] | None]] = deque()
        """Audio pushed and not yet fed to its policy (``None``: close the stream)."""
        self._inbox_ready = threading.Event()
        self._stopping = False
        self._ids = 0
        self._instance = secrets.token_hex(3)
        """Part of every stream id: segment ids stay unique in a room across the
        workers that caption it in turn (a healed room's new worker counts its
        streams from 1 again)."""
        self._died: BaseException | None = None
        self._beat = time.monotonic()
        """When the engine loop last came round."""
        self._trimmed = time.monotonic()
        self._overloaded_until = 0.0
        self._capped_seen = 0
        self.final_wait_s = 0.0
        """The longest wait of a pending final at the last step (stream seconds)."""

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._beat = time.monotonic()
        self._thread = threading.Thread(
            target=self._supervised, name="roomscribe-engine", daemon=True
        )
        self._thread.start()
        self._feeder = threading.Thread(
            target=self._feed_supervised, name="roomscribe-vad", daemon=True
        )
        self._feeder.start()

    def close(self, timeout: float = 30.0) -> None:
        """Finalize every open stream, then stop the threads."""
        feeder, self._feeder = self._feeder, None
        if feeder is not None:
            self._inbox_ready.set()
            feeder.join(timeout)
        self._feed_inbox()  # what was pushed before the close is heard
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
    def healthy(self) -> bool:
        """False once the engine thread died or stalled: no captions will come; restart."""
        if self._died is not None:
            return False
        thread = self._thread
        if thread is None:
            return True  # not started, or closed on purpose
        if not thread.is_alive():
            return self._stopping
        if self._feeder is not None and not self._feeder.is_alive():
            return False
        return time.monotonic() - self._beat < self.options.stall_s

    @property
    def failure(self) -> BaseException | None:
        """What killed the engine thread, if it died."""
        return self._died

    @property
    def load(self) -> float:
        """The worker's load, 0.0-1.0: the share of streams in use; 1.0 (full) also
        while the engine does not keep up (see ``overload_wait_s``, the audio cap)
        or is not :attr:`healthy`."""
        if not self.healthy or time.monotonic() < self._overloaded_until:
            return 1.0
        return min(1.0, self.active_streams / self.options.max_streams)

    @property
    def failed_jobs(self) -> int:
        """Decode jobs given up because they failed (since the start)."""
        return self._scheduler.failed_jobs

    @property
    def interims_skipped(self) -> int:
        """Steps in which a talking stream got no interim refresh (since the start)."""
        return self._scheduler.interims_skipped

    @property
    def finals_waiting(self) -> int:
        """Streams with speech waiting for its final decode."""
        with self._cond:
            return sum(1 for s in self._streams.values() if s.policy.finalizing)

    @property
    def capped_segments(self) -> int:
        """Segments finalized without a decode because of the audio cap (since the start)."""
        return self._scheduler.capped_segments

    def open_stream(
        self,
        on_caption: Callable[[Caption], None],
        *,
        language: str | None = None,
        vocabulary: tuple[str, ...] | None = None,
        on_closed: Callable[[], None] | None = None,
    ) -> EngineStream:
        """Start a stream; raises :class:`CapacityError` when the engine is full.

        ``language`` and ``vocabulary`` override the engine's policy options."""
        with self._cond:
            if self._stopping:
                raise RuntimeError("engine is closed")
            if self._died is not None:
                raise CapacityError("the recognition engine stopped")
            if len(self._streams) >= self.options.max_streams:
                raise CapacityError(f"all {self.options.max_streams} caption streams are in use")
            self._ids += 1
            opts = self.options.policy
            if language is not None:
                opts = replace(opts, language=language)
            if vocabulary is not None:
                opts = replace(opts, vocabulary=tuple(vocabulary))
            policy = StreamPolicy(self._vad, opts, stream_id=f"s{self._ids}.{self._instance}")
            stream = EngineStream(self, policy, on_caption, on_closed)
            self._streams[policy] = stream
            self._scheduler.add(policy)
            self._cond.notify_all()
            return stream

    def _push(self, stream: EngineStream, audio: NDArray[np.float32]) -> None:
        if stream.closed.is_set():
            return  # closed: late frames are dropped
        stream.last_audio = time.monotonic()
        self._queue(stream, audio)

    def _close_stream(self, stream: EngineStream) -> None:
        self._queue(stream, None)  # after the audio pushed before it

    def _queue(self, stream: EngineStream, audio: NDArray[np.float32] | None) -> None:
        self._inbox.append((stream, audio))
        if self._feeder is None:
            self._feed_inbox()  # not started (or closed): no feeder thread to wait for
        else:
            self._inbox_ready.set()

    def _feed_supervised(self) -> None:
        try:
            while self._feeder is not None:
                self._inbox_ready.wait()
                self._inbox_ready.clear()
                self._feed_inbox()
        except BaseException as e:  # the supervisor must see everything
            self._die(e)

    def _feed_inbox(self) -> None:
        """Run the VAD over queued audio, a few pushes per hold of the lock."""
        while self._inbox:
            with self._cond:
                for _ in range(_FEEDS_PER_LOCK):
                    if not self._inbox:
                        break
                    stream, audio = self._inbox.popleft()
                    self._feed(stream, audio)
                self._cond.notify_all()

    def _feed(self, stream: EngineStream, audio: NDArray[np.float32] | None) -> None:
        """Feed (or close) one stream; called with the lock held."""
        if audio is None:
            stream.policy.close()
            return
        if stream.policy not in self._streams or stream.policy.closing:
            return  # closing, or reaped: late frames are dropped
        try:
            stream.policy.feed(audio)
        except Exception:
            # contained like a failed decode: this stream ends with what it has
            log.exception("the VAD failed on a stream's audio; finalizing that stream")
            stream.policy.close()

    def _abort_stream(self, stream: EngineStream) -> None:
        with self._cond:
            if self._streams.get(stream.policy) is not stream:
                return  # already reaped (and notified)
            del self._streams[stream.policy]
            self._scheduler.remove(stream.policy)
            # What the people saw stays: the open and waiting segments become final
            # with the text last shown for them (no decode).
            try:
                settled = stream.policy.give_up().captions
            except Exception:
                log.exception("settling the shown text of a dropped stream failed")
                settled = ()
        log.warning(
            "dropped a caption stream that did not finish in time "
            "(%d segment(s) finalized with their shown text)",
            len(settled),
        )
        for caption in settled:
            try:
                stream.on_caption(caption)
            except Exception:
                log.exception("caption callback failed")
        self._notify_closed([stream])

    def _locked(self, fn: Callable[[], None]) -> None:
        with self._cond:
            fn()
            self._cond.notify_all()

    # -- the engine thread -------------------------------------------------------

    def _supervised(self) -> None:
        try:
            self._run()
        except BaseException as e:  # the supervisor must see everything
            self._die(e)

    def _die(self, error: BaseException) -> None:
        """The thread is going: say so once, and release everyone waiting on it."""
        self._died = error
        log.critical(
            "the recognition engine thread died; no more captions until restart", exc_info=error
        )
        with self._cond:
            streams = list(self._streams.values())
            self._streams.clear()
        self._notify_closed(streams)

    def _run(self) -> None:
        while True:
            finished: list[EngineStream] = []
            try:
                with self._cond:
                    self._beat = time.monotonic()
                    finished = self._reap()
                    self._end_silent_utterances()
                    batch = self._scheduler.next_batch()
                    self._note_pressure()
                    if not batch:
                        if self._stopping and not self._streams:
                            break
                        if not finished:
                            self._cond.wait(0.05)
            finally:
                # reaped streams are notified even if this step fails
                self._notify_closed(finished)
            if batch:
                self._deliver(self._process(batch))
            if time.monotonic() - self._trimmed > self.options.trim_every_s:
                memory.trim()
                self._trimmed = time.monotonic()

    def _process(self, batch: list[Assignment]) -> list[tuple[StreamPolicy, list[Caption]]]:
        """Decode and apply one batch; a failure fails only the jobs it hit."""
        try:
            results = self._scheduler.decode(batch)
        except Exception:
            log.exception("batched decode failed; retrying its jobs one by one")
            return self._scheduler.run_isolated(batch, self._cond)
        with self._cond:
            return self._scheduler.apply(batch, results)

    def _deliver(self, outputs: list[tuple[StreamPolicy, list[Caption]]]) -> None:
        for policy, captions in outputs:
            stream = self._streams.get(policy)
            if stream is None:
                continue
            for caption in captions:
                try:
                    stream.on_caption(caption)
                except Exception:
                    log.exception("caption callback failed")

    def _note_pressure(self) -> None:
        """Report full load while a final waits too long or the audio cap fires."""
        self.final_wait_s = self._scheduler.final_wait_s()
        capped = self._scheduler.capped_segments
        if self.final_wait_s >= self.options.overload_wait_s or capped != self._capped_seen:
            self._capped_seen = capped
            self._overloaded_until = time.monotonic() + self.options.overload_hold_s

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
            # A finished stream gets no more captions, so it lets go of its callbacks:
            # they are usually bound methods of the object that holds the stream
            # (CaptionStream), a reference cycle that kept the policy and its audio
            # until the cyclic GC's rare full collection (closed tracks held ~1.8 MB
            # each in the churn test).
            on_closed, stream.on_closed = stream.on_closed, None
            stream.on_caption = _ignore
            if on_closed is not None:
                try:
                    on_closed()
                except Exception:
                    log.exception("stream close callback failed")


def _ignore(caption: Caption) -> None:
    """The callback of a finished stream."""
