"""Prometheus metrics for operators (``GET /metrics`` on the worker's health port and on ``serve``).

Counters and histograms are module-level, as prometheus-client intends: every
part of the process adds to the same registry (:data:`REGISTRY`). Gauges that
describe the engine are read at scrape time from the engine itself
(:class:`EngineCollector`), so they can never drift from the truth.

Metrics (the names Grafana sees; counters get Prometheus' ``_total`` suffix):

* ``roomscribe_streams_active`` / ``roomscribe_streams_capacity`` (gauges):
  audio streams being captioned, and how many this process accepts.
* ``roomscribe_engine_alive`` (gauge): 1 while the engine thread runs.
* ``roomscribe_engine_load`` (gauge): the load reported to LiveKit (>= 1: full).
* ``roomscribe_decode_queue_depth`` (gauge): streams waiting for a final decode.
* ``roomscribe_rooms_active`` (gauge): LiveKit rooms this worker captions.
* ``roomscribe_tracks_waiting`` (gauge): speakers' audio tracks this worker
  would caption but cannot yet, because every engine stream is in use.
* ``roomscribe_final_latency_seconds`` (histogram): end of an utterance's
  speech to its final caption being published.
* ``roomscribe_finals_total``: final captions published.
* ``roomscribe_interim_refreshes_skipped_total``: steps in which a talking
  stream got no interim refresh because finals or a full batch took the model.
* ``roomscribe_decode_failures_total``: decode jobs given up because the
  decode or its result failed.
* ``roomscribe_audio_cap_segments_total``: segments finalized undecoded (with
  their shown text) because a stream's pending audio hit its cap.
* ``roomscribe_dispatch_heals_total``: rooms dispatched again after losing
  their captioner.
* ``roomscribe_record_write_failures_total``: failed (and retried) writes to
  the transcript store; ``roomscribe_record_pending`` (gauge): finals waiting
  for it; ``roomscribe_record_dropped_total``: finals it never got (queue full).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from roomscribe.asr.engine import Engine

REGISTRY = CollectorRegistry(auto_describe=True)
"""roomscribe's own registry (not the process-global default, which livekit-agents uses)."""

CONTENT_TYPE = CONTENT_TYPE_LATEST

FINAL_LATENCY = Histogram(
    "roomscribe_final_latency_seconds",
    "Seconds from the end of an utterance's speech to its final caption being published.",
    buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
FINALS = Counter("roomscribe_finals", "Final captions published.", registry=REGISTRY)
DISPATCH_HEALS = Counter(
    "roomscribe_dispatch_heals",
    "Rooms whose captioner was gone and that were dispatched again.",
    registry=REGISTRY,
)
ROOMS = Gauge("roomscribe_rooms_active", "LiveKit rooms this worker captions.", registry=REGISTRY)
TRACKS_WAITING = Gauge(
    "roomscribe_tracks_waiting",
    "Audio tracks not captioned because every engine stream is in use.",
    registry=REGISTRY,
)
"""Read at scrape time: the worker sets its function (``set_function``)."""

RECORD_WRITE_FAILURES = Counter(
    "roomscribe_record_write_failures",
    "Failed attempts to write finals to the transcript store (retried).",
    registry=REGISTRY,
)
RECORD_DROPPED = Counter(
    "roomscribe_record_dropped",
    "Finals never written to the transcript store: its queue was full.",
    registry=REGISTRY,
)
RECORD_PENDING = Gauge(
    "roomscribe_record_pending",
    "Finals waiting to be written to the transcript store.",
    registry=REGISTRY,
)
"""Read at scrape time: the writer sets its function."""


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """What :class:`EngineCollector` reads from the engine at each scrape."""

    streams_active: int
    streams_capacity: int
    alive: bool
    load: float
    finals_waiting: int
    decode_failures: int = 0
    interims_skipped: int = 0
    capped_segments: int = 0

    @classmethod
    def of(cls, engine: Engine) -> EngineSnapshot:
        return cls(
            streams_active=engine.active_streams,
            streams_capacity=engine.options.max_streams,
            alive=engine.healthy,
            load=engine.load,
            finals_waiting=engine.finals_waiting,
            decode_failures=engine.failed_jobs,
            interims_skipped=engine.interims_skipped,
            capped_segments=engine.capped_segments,
        )


class EngineCollector(Collector):
    """Engine gauges, read at scrape time through ``snapshot``."""

    def __init__(self, snapshot: Callable[[], EngineSnapshot]) -> None:
        self._snapshot = snapshot

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # unchecked: registered once per engine, read lazily

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        s = self._snapshot()
        yield CounterMetricFamily(
            "roomscribe_decode_failures",
            "Decode jobs given up because the decode or its result failed.",
            value=s.decode_failures,
        )
        yield CounterMetricFamily(
            "roomscribe_interim_refreshes_skipped",
            "Steps in which a talking stream got no interim refresh (the model was busy).",
            value=s.interims_skipped,
        )
        yield CounterMetricFamily(
            "roomscribe_audio_cap_segments",
            "Segments finalized with their shown text, undecoded, by the pending-audio cap.",
            value=s.capped_segments,
        )
        yield GaugeMetricFamily(
            "roomscribe_streams_active", "Audio streams being captioned.", value=s.streams_active
        )
        yield GaugeMetricFamily(
            "roomscribe_streams_capacity",
            "Audio streams this process accepts.",
            value=s.streams_capacity,
        )
        yield GaugeMetricFamily(
            "roomscribe_engine_alive", "1 while the engine thread runs.", value=float(s.alive)
        )
        yield GaugeMetricFamily(
            "roomscribe_engine_load", "Load reported to LiveKit (>= 1: full).", value=s.load
        )
        yield GaugeMetricFamily(
            "roomscribe_decode_queue_depth",
            "Streams waiting for a final decode.",
            value=s.finals_waiting,
        )


_engine_collector: EngineCollector | None = None


def watch(engine: Engine) -> None:
    """Report this engine's gauges and counters at every scrape."""
    watch_engine(lambda: EngineSnapshot.of(engine))


def watch_engine(snapshot: Callable[[], EngineSnapshot]) -> None:
    """Report an engine's numbers (the process has one engine; a new one replaces it)."""
    global _engine_collector
    if _engine_collector is not None:
        REGISTRY.unregister(_engine_collector)
    _engine_collector = EngineCollector(snapshot)
    REGISTRY.register(_engine_collector)


def exposition() -> bytes:
    """The registry in Prometheus text format."""
    return generate_latest(REGISTRY)
