"""Replay audio through the streaming core on a clock.

``realtime``: audio arrives at wall-clock speed (what a live call does).
``simulated``: a computationally aware simulation: audio arrives on a
virtual clock at real-time speed, idle waiting is skipped, and every
computation (VAD and decoding) advances the clock by the real time it took,
so caption times equal what a live listener on this machine would see.
``cpu``: like ``simulated``, but a computation advances the clock by the CPU
time it used divided by the number of cores: what it would have taken on this
machine with nothing else running. For measuring on a shared, loaded machine
(estimates: single-threaded steps are charged half on two cores).
``none``: all audio is available at once; measures raw throughput.

Several streams replay together on one scheduler (one shared model), which is
how ``bench --streams N`` measures capacity.
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE
from roomscribe.asr.events import Caption
from roomscribe.asr.policy import StreamPolicy
from roomscribe.asr.revision import Reviewed
from roomscribe.asr.scheduler import Scheduler

CHUNK_S = 0.02


class Pace(enum.Enum):
    REALTIME = "realtime"
    SIMULATED = "simulated"
    CPU = "cpu"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Emitted:
    """A caption as a listener sees it: ``emitted_at`` seconds after the stream began."""

    stream: int
    emitted_at: float
    caption: Caption


@dataclass(frozen=True, slots=True)
class Review:
    """A segment the revision pass read again, ``at`` seconds after the stream began."""

    stream: int
    at: float
    reviewed: Reviewed


@dataclass(frozen=True, slots=True)
class ReplayStats:
    audio_s: float
    """Duration of the longest stream."""
    compute_s: float
    """Wall time spent in VAD and decoding."""
    finished_at: float
    """Clock time when the last stream delivered its last caption."""
    decodes: int


class _Clock:
    def __init__(self, pace: Pace) -> None:
        self._pace = pace
        self._virtual = 0.0
        self._t0 = time.perf_counter()
        self._cores = os.cpu_count() or 1

    def elapsed_since(self, wall0: float, cpu0: float) -> float:
        """What a computation that started at these readings costs on this clock."""
        if self._pace is Pace.CPU:
            return (time.process_time() - cpu0) / self._cores
        return time.perf_counter() - wall0

    def now(self) -> float:
        if self._pace is Pace.REALTIME:
            return time.perf_counter() - self._t0
        return self._virtual

    def spent(self, seconds: float) -> None:
        if self._pace is not Pace.REALTIME:
            self._virtual += seconds

    def wait_until(self, t: float) -> None:
        if self._pace is Pace.REALTIME:
            delay = t - self.now()
            if delay > 0:
                time.sleep(delay)
        else:
            self._virtual = max(self._virtual, t)


def replay(
    scheduler: Scheduler,
    policies: Sequence[StreamPolicy],
    audios: Sequence[NDArray[np.float32]],
    *,
    pace: Pace,
    on_caption: Callable[[Emitted], None],
    on_review: Callable[[Review], None] | None = None,
) -> ReplayStats:
    """Stream each audio into its policy and run the scheduler until all are final.

    Revision captions come through ``on_caption`` too; ``on_review`` hears of
    every segment the revision pass read again (changed or not).
    """
    if len(policies) != len(audios):
        raise ValueError("one audio per policy")
    for p in policies:
        scheduler.add(p)
    clock = _Clock(pace)
    chunk = int(CHUNK_S * SAMPLE_RATE)
    offsets = [0] * len(audios)
    compute = 0.0
    decodes = 0
    index = {id(p): i for i, p in enumerate(policies)}

    def arrival(i: int) -> float:
        if pace is Pace.NONE:
            return 0.0
        return min(offsets[i] + chunk, len(audios[i])) / SAMPLE_RATE

    while True:
        now = clock.now()
        t0, c0 = time.perf_counter(), time.process_time()
        for i, (policy, audio) in enumerate(zip(policies, audios, strict=True)):
            while offsets[i] < len(audio) and arrival(i) <= now:
                policy.feed(audio[offsets[i] : offsets[i] + chunk])
                offsets[i] += chunk
            if offsets[i] >= len(audio):
                policy.close()
        batch = scheduler.next_batch()
        if batch:
            outputs = scheduler.run(batch)
            elapsed = clock.elapsed_since(t0, c0)
            compute += elapsed
            decodes += len(batch)
            clock.spent(elapsed)
            at = clock.now()
            for policy, captions in outputs:
                for c in captions:
                    on_caption(Emitted(index[id(policy)], at, c))
                if on_review is not None and policy.reviser is not None:
                    for r in policy.reviser.take_reviewed():
                        on_review(Review(index[id(policy)], at, r))
            continue
        elapsed = clock.elapsed_since(t0, c0)
        compute += elapsed
        clock.spent(elapsed)
        if all(p.done for p in policies):
            break
        pending = [arrival(i) for i in range(len(audios)) if offsets[i] < len(audios[i])]
        if not pending:
            raise RuntimeError("replay stalled: streams closed but not done")
        clock.wait_until(min(pending))
    for p in policies:
        scheduler.remove(p)
    return ReplayStats(
        audio_s=max((len(a) for a in audios), default=0) / SAMPLE_RATE,
        compute_s=compute,
        finished_at=clock.now(),
        decodes=decodes,
    )
