"""Prometheus exposition: module metrics and the engine's scrape-time gauges."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from roomscribe import metrics
from roomscribe.metrics import EngineSnapshot


def _samples() -> dict[str, float]:
    text = metrics.exposition().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels or sample.name.endswith("_count")
    }


def test_engine_gauges_are_read_at_scrape_time() -> None:
    state = {"active": 1}
    metrics.watch_engine(
        lambda: EngineSnapshot(
            streams_active=state["active"],
            streams_capacity=8,
            alive=True,
            load=state["active"] / 8,
            finals_waiting=0,
        )
    )
    assert _samples()["roomscribe_streams_active"] == 1
    state["active"] = 3
    samples = _samples()
    assert samples["roomscribe_streams_active"] == 3
    assert samples["roomscribe_streams_capacity"] == 8
    assert samples["roomscribe_engine_alive"] == 1
    assert samples["roomscribe_engine_load"] == 3 / 8


def test_a_new_engine_replaces_the_old_one() -> None:
    for alive in (True, False):
        metrics.watch_engine(lambda alive=alive: EngineSnapshot(0, 4, alive, 1.0, 0))
    assert _samples()["roomscribe_engine_alive"] == 0
