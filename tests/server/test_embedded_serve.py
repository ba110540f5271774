"""``roomscribe serve --embedded`` as a subprocess, driven by an aiortc client."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import read_wav
from tests.embedded.conftest import CaptionClient, WavTrack, wait_for

pytestmark = [pytest.mark.embedded, pytest.mark.model]

PASSCODE = "open sesame"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env |= {
        "ROOMSCRIBE_MAX_SESSIONS": "2",
        "ROOMSCRIBE_IDLE_TIMEOUT": "10",
        "ROOMSCRIBE_PASSCODE": PASSCODE,
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "roomscribe.cli", "serve", "--embedded", "--model", "tiny.en",
         "--language", "en", "--port", str(port), "--web-dir", str(tmp_path)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        assert time.monotonic() < deadline, "roomscribe serve did not come up"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


async def test_serve_embedded_end_to_end(
    serve: tuple[str, subprocess.Popen[bytes]], eval_dir: Path, tmp_path: Path
) -> None:
    url, proc = serve
    async with httpx.AsyncClient() as http:
        config = (await http.get(f"{url}/api/config")).json()
        assert config == {"mode": "embedded", "passcode_required": True}

    # 0-9.6 s: two prompts; cut at 7.5 s, in the middle of the second one.
    track = WavTrack(read_wav(eval_dir / "allison-a.wav")[: int(7.5 * 16_000)], after="stall")
    client = CaptionClient(track)
    try:
        sdp = await client.offer_sdp()
        async with httpx.AsyncClient() as http:
            r = await http.post(f"{url}/api/offer", json={"sdp": sdp, "type": "offer"})
        assert r.status_code == 401
        assert r.json() == {
            "detail": "this server requires a passcode: send it in the field 'passcode'"
        }
        await client.connect(url, name="Ada", passcode=PASSCODE)
        await wait_for(lambda: any(m["final"] for m in client.captions), 20, "a final caption")
        await wait_for(lambda: track.seconds_sent >= 7.4, 10, "the audio to be sent")
        await asyncio.sleep(1.0)
        async with httpx.AsyncClient() as http:
            scrape = (await http.get(f"{url}/metrics")).text
        assert _sample(scrape, "roomscribe_streams_active") == 1
        assert _sample(scrape, "roomscribe_streams_capacity") >= 1
        assert _sample(scrape, "roomscribe_engine_alive") == 1
        assert _sample(scrape, "roomscribe_finals_total") >= 1
        assert _sample(scrape, "roomscribe_final_latency_seconds_count") >= 1
        assert 0 < _sample(scrape, "roomscribe_final_latency_seconds_sum") < 30
        # Ctrl-C: the server finalizes the open sentence and sends it before closing the peer.
        proc.send_signal(signal.SIGINT)
        await asyncio.to_thread(proc.wait, 30)
        assert proc.returncode == 0, (tmp_path / "serve.log").read_text()
        finals = [m for m in client.captions if m["final"]]
        assert len(finals) == 2
        assert "audio volume" in finals[0]["text"].lower()
        assert finals[1]["text"].lower().startswith("after the tone")
        assert {m["speaker"] for m in client.captions} == {"Ada"}
    finally:
        await client.close()


def _sample(exposition: str, name: str) -> float:
    """The value of an unlabelled sample in Prometheus text format."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return float(sample.value)
    raise AssertionError(f"{name} not in the scrape:\n{exposition}")
