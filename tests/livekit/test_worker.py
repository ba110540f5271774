"""The worker's health endpoint follows the engine (real livekit-server, worker in-process)."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from roomscribe import metrics
from roomscribe.aio import CaptionStream
from roomscribe.asr.backend import DecodeRequest, DecodeResult
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.policy import PolicyOptions
from roomscribe.livekit.worker import _HealthServer
from tests.asr.fakes import EnergyVad, ToneRecognizer, synth
from tests.livekit.participants import poll_until

pytestmark = pytest.mark.livekit


class EngineCrash(BaseException):
    """What ``except Exception`` in the engine does not catch."""


class Crashing(ToneRecognizer):
    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        raise EngineCrash("the model's native code gave up")


async def _health(port: int) -> int:
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"http://127.0.0.1:{port}/") as resp,
    ):
        return resp.status


async def _metric(port: int, name: str) -> float:
    """One unlabelled sample from ``GET /metrics`` on the health port."""
    url = f"http://127.0.0.1:{port}/metrics"
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as resp:
        text = await resp.text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return float(sample.value)
    raise AssertionError(f"{name} not in {text}")


async def test_health_endpoint_reports_a_dead_engine() -> None:
    """The worker's health port (its own server, as ``CaptionWorker`` wires it) follows
    the engine. The whole worker is exercised by the healing tests, which scrape it."""
    engine = Engine(Crashing(), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en")))
    engine.start()
    metrics.watch(engine)
    health = _HealthServer(0, lambda: engine.healthy)
    await health.start()
    try:
        assert await _health(health.port) == 200
        assert (await _metric(health.port, "roomscribe_engine_alive")) == 1
        captions = CaptionStream(engine, close_timeout_s=5)
        captions.push(synth(["hello", "there."], tail_s=1.0))  # its decode kills the engine
        assert await poll_until(lambda: not engine.healthy, 10)
        assert await _health(health.port) == 503
        assert engine.load == 1.0  # and LiveKit sends the worker no new rooms
        assert (await _metric(health.port, "roomscribe_engine_alive")) == 0
        assert (await _metric(health.port, "roomscribe_engine_load")) == 1.0
        await captions.aclose()
    finally:
        await health.aclose()
        engine.close(timeout=5)
