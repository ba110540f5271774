"""The worker's health endpoint follows the engine (real livekit-server, worker in-process)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from roomscribe import metrics
from roomscribe.aio import CaptionStream
from roomscribe.asr.backend import DecodeRequest, DecodeResult
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.policy import PolicyOptions
from roomscribe.livekit.worker import _HealthServer
from tests.asr.fakes import EnergyVad, ToneRecognizer, synth
from tests.fixtures.livekit import free_port, http_probe, lan_address, stop_process, wait_serving
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
    health = _HealthServer("127.0.0.1", 0, lambda: engine.healthy)
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


@pytest.mark.model
def test_the_health_port_listens_on_loopback_unless_configured(tmp_path: Path) -> None:
    """``/metrics`` says how busy a worker is: not for the whole network by default."""
    lan = lan_address()
    for health_host, reachable in [(None, False), ("0.0.0.0", True)]:
        port = free_port()
        argv = ["--model", "tiny.en", "--language", "en", "--health-port", str(port)]
        argv += ["--livekit-url", f"ws://127.0.0.1:{free_port()}"]  # nothing there: it waits
        argv += ["--api-key", "k", "--api-secret", "s" * 32]
        if health_host:
            argv += ["--health-host", health_host]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ROOMSCRIBE_", "LIVEKIT_"))}
        log = tmp_path / f"agent-{health_host}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "roomscribe.cli", "agent", *argv],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            local = f"http://127.0.0.1:{port}/"
            wait_serving(http_probe(local), proc, log, local, timeout=120)
            try:
                status = httpx.get(f"http://{lan}:{port}/metrics", timeout=5).status_code
            except httpx.ConnectError:
                status = None
            assert (status == 200) is reachable, (health_host, status)
        finally:
            stop_process(proc)
