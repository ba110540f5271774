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
* ``roomscribe_final_latency_seconds`` (histogram): end of an utterance's
  speech to its final caption being published.
* ``roomscribe_finals_total``: final captions published.
* ``roomscribe_interim_refreshes_skipped_total``: interim refreshes skipped
  because the model was busy.
* ``roomscribe_decode_failures_total``: decodes that raised.
* ``roomscribe_dispatch_heals_total``: rooms dispatched again after losing
  their captioner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

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
INTERIMS_SKIPPED = Counter(
    "roomscribe_interim_refreshes_skipped",
    "Interim caption refreshes skipped because the model was busy.",
    registry=REGISTRY,
)
DECODE_FAILURES = Counter(
    "roomscribe_decode_failures", "Decodes that raised an exception.", registry=REGISTRY
)
DISPATCH_HEALS = Counter(
    "roomscribe_dispatch_heals",
    "Rooms whose captioner was gone and that were dispatched again.",
    registry=REGISTRY,
)
ROOMS = Gauge("roomscribe_rooms_active", "LiveKit rooms this worker captions.", registry=REGISTRY)


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """What :class:`EngineCollector` reads from the engine at each scrape."""

    streams_active: int
    streams_capacity: int
    alive: bool
    load: float
    finals_waiting: int


class EngineCollector(Collector):
    """Engine gauges, read at scrape time through ``snapshot``."""

    def __init__(self, snapshot: Callable[[], EngineSnapshot]) -> None:
        self._snapshot = snapshot

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # unchecked: registered once per engine, read lazily

    def collect(self) -> Iterator[GaugeMetricFamily]:
        s = self._snapshot()
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


def watch_engine(snapshot: Callable[[], EngineSnapshot]) -> None:
    """Report this engine's gauges (the process has one engine; a new one replaces it)."""
    global _engine_collector
    if _engine_collector is not None:
        REGISTRY.unregister(_engine_collector)
    _engine_collector = EngineCollector(snapshot)
    REGISTRY.register(_engine_collector)


def exposition() -> bytes:
    """The registry in Prometheus text format."""
    return generate_latest(REGISTRY)
