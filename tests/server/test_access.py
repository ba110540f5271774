"""Access control of ``POST /api/token``: passcode, proxy header, rate limit, origin, type.

The endpoint checks in this order: rate limit (429), origin (403), content type
(415), body (422), passcode or proxy header (401), the join itself (400/503).
Tests that need a token minted use a real livekit-server; the others point the
app at a port where nothing listens (a request that got past the checks would
be a 503, so every 401/403/415/429 here is the check's own answer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from livekit import api, rtc

from roomscribe.server.app import AppOptions, create_app
from roomscribe.server.options import AccessOptions
from roomscribe.settings import LiveKitSettings
from tests.embedded.conftest import UvicornThread
from tests.fixtures.livekit import LiveKitServer, free_port

DEAD = LiveKitSettings(url=f"ws://127.0.0.1:{free_port()}", api_key="k", api_secret="s" * 32)
JOIN = {"room": "standup", "name": "Ada"}


def app_client(
    access: AccessOptions,
    livekit: LiveKitSettings = DEAD,
    *,
    address: str = "198.51.100.7",
    web_dir: Path = Path("/nonexistent"),
) -> TestClient:
    app = create_app(AppOptions(livekit=livekit, web_dir=web_dir, access=access))
    return TestClient(app, client=(address, 40000))


def detail(r: httpx.Response) -> str:
    body = r.json()
    assert isinstance(body["detail"], str), body
    return body["detail"]


@pytest.fixture
def real(livekit_server: LiveKitServer) -> LiveKitSettings:
    s = livekit_server
    return LiveKitSettings(url=s.url, api_key=s.api_key, api_secret=s.api_secret)


# -- passcode ---------------------------------------------------------------------------


def test_passcode_missing_or_wrong_is_401() -> None:
    with app_client(AccessOptions(passcode="correct horse")) as c:
        assert c.get("/api/config").json()["passcode_required"] is True
        for body, message in [
            (JOIN, "this server requires a passcode"),
            (JOIN | {"passcode": ""}, "this server requires a passcode"),
            (JOIN | {"passcode": "correct hors"}, "wrong passcode"),
            (JOIN | {"passcode": "correct horse "}, "wrong passcode"),
            (JOIN | {"passcode": "Correct horse"}, "wrong passcode"),
        ]:
            r = c.post("/api/token", json=body)
            assert r.status_code == 401, body
            assert message in detail(r)
        r = c.post("/api/token", json=JOIN | {"passcode": "correct horse"})
        assert r.status_code == 503  # past the passcode: LiveKit is down here
    with app_client(AccessOptions()) as c:
        assert c.get("/api/config").json()["passcode_required"] is False


@pytest.mark.livekit
async def test_passcode_token_joins_the_room_with_least_privileges(
    real: LiveKitSettings,
) -> None:
    with app_client(AccessOptions(passcode="s3cret"), real) as c:
        assert c.post("/api/token", json=JOIN).status_code == 401
        assert c.post("/api/token", json=JOIN | {"passcode": "wrong"}).status_code == 401
        r = c.post("/api/token", json=JOIN | {"passcode": "s3cret", "identity": "boss"})
    assert r.status_code == 200, r.text
    grant = r.json()
    assert grant["identity"].startswith("Ada-")

    room = rtc.Room()
    await room.connect(grant["url"], grant["token"], rtc.RoomOptions(auto_subscribe=False))
    try:
        me = room.local_participant
        assert me.identity == grant["identity"]
        assert me.name == "Ada"
        # What livekit-server itself granted this participant.
        perms = me.permissions
        assert perms.can_subscribe
        assert perms.can_publish
        assert not perms.can_publish_data
        assert list(perms.can_publish_sources) == [
            rtc.TrackSource.SOURCE_MICROPHONE,
            rtc.TrackSource.SOURCE_SCREENSHARE_AUDIO,
        ]
        # no renaming itself (the language picker goes through POST /api/language)
        assert not perms.can_update_metadata
        assert not perms.hidden
    finally:
        await room.disconnect()


# -- trusted proxy header ---------------------------------------------------------------


@pytest.mark.livekit
def test_proxy_header_names_the_participant(real: LiveKitSettings) -> None:
    header = {"X-Forwarded-User": "Grace Hopper"}
    with app_client(AccessOptions(trust_proxy_header="X-Forwarded-User"), real) as c:
        r = c.post("/api/token", json=JOIN)
        assert r.status_code == 401
        assert "sign-on proxy (X-Forwarded-User)" in detail(r)
        r = c.post("/api/token", json={"room": "standup", "name": "Mallory"}, headers=header)
        assert r.status_code == 200, r.text
        claims = api.TokenVerifier(real.api_key, real.api_secret).verify(r.json()["token"])
        assert claims.name == "Grace Hopper"  # the proxy's name, not the body's
        r = c.post("/api/token", json={"room": "standup"}, headers=header)
        assert r.status_code == 200, r.text  # the name may be left out
        # UTF-8 from the proxy arrives as Latin-1 text in Starlette
        r = c.post(
            "/api/token",
            json={"room": "standup"},
            headers={"X-Forwarded-User": "Zoë".encode()},  # type: ignore[dict-item]
        )
        claims = api.TokenVerifier(real.api_key, real.api_secret).verify(r.json()["token"])
        assert claims.name == "Zoë"
        r = c.post("/api/token", json=JOIN, headers={"X-Forwarded-User": "x" * 80})
        assert r.status_code == 400
        assert "X-Forwarded-User header is not a usable name" in detail(r)


def test_proxy_header_with_passcode_needs_only_the_passcode() -> None:
    options = AccessOptions(passcode="pw", trust_proxy_header="X-Forwarded-User")
    with app_client(options) as c:
        r = c.post("/api/token", json=JOIN, headers={"X-Forwarded-User": "Grace"})
        assert r.status_code == 401  # the header does not replace the passcode
        assert c.post("/api/token", json=JOIN | {"passcode": "pw"}).status_code == 503


# -- rate limit -------------------------------------------------------------------------


def test_thirty_rapid_requests_hit_the_limit_another_client_does_not() -> None:
    """A real uvicorn server; two clients with their own source addresses."""
    app = create_app(
        AppOptions(livekit=DEAD, web_dir=Path("/nonexistent"), access=AccessOptions(passcode="pw"))
    )
    server = UvicornThread(app)
    try:
        guesser = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.1"))
        other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
        body = JOIN | {"passcode": "guess"}
        codes = [guesser.post(f"{server.url}/api/token", json=body) for _ in range(30)]
        assert [r.status_code for r in codes] == [401] * 20 + [429] * 10
        limited = codes[-1]
        assert "too many requests from 127.0.0.1: the limit is 20/minute" in detail(limited)
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        r = other.post(f"{server.url}/api/token", json=body)
        assert r.status_code == 401  # its own budget
        # Even the right passcode waits: the limit comes first.
        r = guesser.post(f"{server.url}/api/token", json=JOIN | {"passcode": "pw"})
        assert r.status_code == 429
        assert guesser.get(f"{server.url}/healthz").status_code == 200  # only the API is limited
        guesser.close()
        other.close()
    finally:
        server.stop()


def test_forwarded_for_counts_only_behind_a_trusted_proxy() -> None:
    def statuses(options: AccessOptions) -> list[int]:
        with app_client(options) as c:
            return [
                c.post(
                    "/api/token",
                    json=JOIN,
                    headers={"X-Forwarded-For": f"203.0.113.{i}", "X-Forwarded-User": "Ada"},
                ).status_code
                for i in range(3)
            ]

    # Without a trusted proxy the header is the client's own claim: one budget.
    assert statuses(AccessOptions(rate_limit="2/minute", passcode="pw")) == [401, 401, 429]
    # Behind the proxy, the address it saw (its own, last entry) is the client.
    trusted = AccessOptions(rate_limit="2/minute", trust_proxy_header="X-Forwarded-User")
    assert statuses(trusted) == [503, 503, 503]


def test_rate_limit_can_be_switched_off() -> None:
    with app_client(AccessOptions(rate_limit=None, passcode="pw")) as c:
        assert {c.post("/api/token", json=JOIN).status_code for _ in range(40)} == {401}


# -- origin and content type ------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("http://testserver", 401),  # the server's own page
        ("http://testserver:80", 401),
        ("HTTP://TestServer", 401),
        ("https://testserver", 403),  # another scheme is another origin
        ("http://testserver:8080", 403),
        ("https://evil.example", 403),
        ("null", 403),  # sandboxed iframes, file:// pages
        ("http://testserver.evil.example", 403),
        ("https://meet.example.org", 401),  # listed in ROOMSCRIBE_ALLOWED_ORIGINS
    ],
)
def test_origin(origin: str, status: int) -> None:
    options = AccessOptions(passcode="pw", allowed_origins=("https://meet.example.org",))
    with app_client(options) as c:
        r = c.post("/api/token", json=JOIN, headers={"Origin": origin})
    assert r.status_code == status
    if status == 403:
        assert "are not allowed" in detail(r)
        assert "ROOMSCRIBE_ALLOWED_ORIGINS" in detail(r)


def test_a_tls_proxy_origin_is_accepted_behind_a_trusted_proxy() -> None:
    options = AccessOptions(trust_proxy_header="X-Forwarded-User", passcode="pw")
    with app_client(options) as c:
        headers = {"Origin": "https://testserver", "X-Forwarded-Proto": "https"}
        assert c.post("/api/token", json=JOIN, headers=headers).status_code == 401


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None],
)
def test_only_json_bodies(content_type: str | None) -> None:
    with app_client(AccessOptions()) as c:
        headers: dict[str, Any] = {"content-type": content_type} if content_type else {}
        r = c.post("/api/token", content=b'{"room": "r", "name": "Ada"}', headers=headers)
    assert r.status_code == 415
    assert "Content-Type: application/json" in detail(r)
