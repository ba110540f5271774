"""Fuzz the HTTP API from its own OpenAPI schema with schemathesis.

Both apps run in a real uvicorn server (their lifespans start the token
service or the recognition engine): the LiveKit-mode app against a real
livekit-server, the embedded-mode app with Whisper tiny.en. schemathesis sends
valid and invalid requests to every operation. Nothing may be a 5xx, every 4xx
carries a JSON ``detail``, and the server is healthy afterwards.

The rate limit is off here (the fuzzer is one client sending hundreds of
requests); tests/server/test_access.py covers it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from roomscribe.asr.whisper import WhisperOptions
from roomscribe.server.app import AppOptions, create_app
from roomscribe.settings.access import AccessOptions
from roomscribe.settings.asr import AsrOptions, engine_options
from roomscribe.settings.embedded import EmbeddedOptions
from roomscribe.settings.livekit import LiveKitSettings
from roomscribe.store import RecordOptions
from tests.embedded.conftest import UvicornThread
from tests.fixtures.livekit import LiveKitServer

OPEN = AccessOptions(rate_limit=None)
EXAMPLES = 40
"""Per operation and generation mode: every operation still gets valid and invalid
requests (at 100 the module took 42 s of a ~22 min ``make test``)."""

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same requests on every run: a failure reproduces
    database=None,
)

statuses: dict[str, Counter[int]] = {"livekit": Counter(), "embedded": Counter()}


def fuzz(url: str, mode: str) -> None:
    """Every operation of the app's schema, with valid and invalid requests."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        # An operation without parameters or body has no invalid requests to make.
        has_input = operation.method.upper() == "POST"
        for generation in GenerationMode if has_input else [GenerationMode.POSITIVE]:

            @FUZZ_SETTINGS
            @given(case=operation.as_strategy(generation_mode=generation))
            def send(case: schemathesis.Case) -> None:
                r = case.call(timeout=30)
                check(mode, r.status_code, r.content, r.headers.get("content-type", [""])[0])

            send()


def check(mode: str, status: int, body: bytes, content_type: str) -> None:
    statuses[mode][status] += 1
    assert status < 500, body[:500]
    if 400 <= status < 500:
        assert content_type.startswith("application/json"), (status, body[:200])
        assert "detail" in httpx.Response(status, content=body).json(), body[:200]


# -- LiveKit mode -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def livekit_app(
    livekit_server: LiveKitServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    s = livekit_server
    lk = LiveKitSettings(url=s.url, api_key=s.api_key, api_secret=s.api_secret)
    web = tmp_path_factory.mktemp("web")
    record = RecordOptions(data_dir=tmp_path_factory.mktemp("data"))
    app = create_app(AppOptions(livekit=lk, web_dir=web, access=OPEN, record=record))
    server = UvicornThread(app)
    yield server.url
    server.stop()


@pytest.mark.livekit
def test_livekit_mode_api(livekit_app: str) -> None:
    fuzz(livekit_app, "livekit")


@pytest.mark.livekit
def test_livekit_mode_is_healthy_after_fuzzing(livekit_app: str) -> None:
    assert sum(statuses["livekit"].values()) >= EXAMPLES  # the fuzz test above ran
    print("LiveKit mode, responses by status:", dict(sorted(statuses["livekit"].items())))
    assert httpx.get(f"{livekit_app}/healthz").json() == {"status": "ok", "mode": "livekit"}
    r = httpx.post(f"{livekit_app}/api/token", json={"room": "after-fuzz", "name": "Ada"})
    assert r.status_code == 200, r.text


# -- embedded mode ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    asr = AsrOptions(
        whisper=replace(WhisperOptions(), model="tiny.en"), engine=engine_options(language="en")
    )
    options = AppOptions(
        asr=asr,
        embedded=EmbeddedOptions(connect_timeout=2.0),
        web_dir=tmp_path_factory.mktemp("web"),
        access=OPEN,
    )
    server = UvicornThread(create_app(options))
    yield server.url
    server.stop()


@pytest.mark.model
@pytest.mark.embedded
def test_embedded_mode_api(embedded_app: str) -> None:
    fuzz(embedded_app, "embedded")


@pytest.mark.model
@pytest.mark.embedded
def test_embedded_mode_is_healthy_after_fuzzing(embedded_app: str) -> None:
    assert statuses["embedded"][200] > 0  # the fuzz test above ran
    print("embedded mode, responses by status:", dict(sorted(statuses["embedded"].items())))
    assert httpx.get(f"{embedded_app}/healthz").json() == {"status": "ok", "mode": "embedded"}
    paths = httpx.get(f"{embedded_app}/openapi.json").json()["paths"]
    assert "/api/offer" in paths  # the fuzzer saw the offer route


def test_fuzz_targets_every_operation(tmp_path: Path) -> None:
    """The schema lists the API: a route missing from it would go unfuzzed."""
    lk = LiveKitSettings(url="ws://127.0.0.1:1", api_key="k", api_secret="s" * 32)
    paths = create_app(AppOptions(livekit=lk, web_dir=tmp_path)).openapi()["paths"]
    assert set(paths) == {
        "/healthz",
        "/api/config",
        "/api/token",
        "/api/vocabulary",
        "/api/language",
        "/api/translation",
        "/api/rooms/{room}/transcript",
        "/",
    }
