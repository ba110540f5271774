"""Access control of ``POST /api/token``: passcode, proxy header, rate limits, origin, type.

The endpoint checks in this order: rate limits (429), transport and origin (403),
content type (415), body size (413), body (422), passcode or proxy header (401),
the join itself (400/503). The app is addressed as ``https://localhost`` (a
passcode is taken from another machine only over HTTPS).
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
from roomscribe.settings.access import AccessOptions
from roomscribe.settings.livekit import LiveKitSettings
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
    return TestClient(app, base_url="https://localhost", client=(address, 40000))


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
    options = AccessOptions(trust_proxy_header="X-Forwarded-User")
    with app_client(options, real, address="198.51.100.7") as c:
        # Not from a trusted proxy: the header is the client's own claim.
        r = c.post("/api/token", json=JOIN, headers=header | {"X-Forwarded-For": "127.0.0.1"})
        assert r.status_code == 401
        assert "sign-on proxy (X-Forwarded-User)" in detail(r)
    with app_client(options, real, address="127.0.0.1") as c:  # the proxy, on this machine
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
    with app_client(options, address="127.0.0.1") as c:
        r = c.post("/api/token", json=JOIN, headers={"X-Forwarded-User": "Grace"})
        assert r.status_code == 401  # the header does not replace the passcode
        assert c.post("/api/token", json=JOIN | {"passcode": "pw"}).status_code == 503


# -- rate limit -------------------------------------------------------------------------


@pytest.mark.livekit
def test_an_office_joins_at_once_a_guesser_waits(real: LiveKitSettings) -> None:
    """A real uvicorn server; clients with their own source addresses.

    60 people behind one address join within a minute; wrong passcodes from
    one address are refused 10 times, then it waits (even with the right
    passcode); another address is unaffected.
    """
    app = create_app(
        AppOptions(livekit=real, web_dir=Path("/nonexistent"), access=AccessOptions(passcode="pw"))
    )
    server = UvicornThread(app)
    office = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.3"))
    guesser = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.1"))
    other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    try:
        token = f"{server.url}/api/token"
        joins = [
            office.post(token, json={"room": "all-hands", "name": f"P{i}", "passcode": "pw"})
            for i in range(60)
        ]
        assert [r.status_code for r in joins] == [200] * 60, joins[-1].text
        body = JOIN | {"passcode": "guess"}
        codes = [guesser.post(token, json=body) for _ in range(15)]
        assert [r.status_code for r in codes] == [401] * 10 + [429] * 5
        limited = codes[-1]
        assert "too many refused passcodes (the limit is 10/minute) from 127.0.0.1" in detail(
            limited
        )
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # The right passcode waits too: otherwise a 200 would tell a guess was right.
        assert guesser.post(token, json=JOIN | {"passcode": "pw"}).status_code == 429
        assert other.post(token, json=body).status_code == 401  # its own budget
        assert other.post(token, json=JOIN | {"passcode": "pw"}).status_code == 200
        assert office.post(token, json=JOIN | {"passcode": "pw"}).status_code == 200
        assert guesser.get(f"{server.url}/healthz").status_code == 200  # only the API
    finally:
        for client in (office, guesser, other):
            client.close()
        server.stop()


def test_every_request_counts_against_the_generous_limit() -> None:
    with app_client(AccessOptions(rate_limit="5/minute", passcode="pw")) as c:
        codes = [c.post("/api/token", json=JOIN | {"passcode": "pw"}).status_code for _ in range(7)]
    assert codes == [503] * 5 + [429] * 2  # past the passcode: LiveKit is down here


def test_forwarded_for_counts_only_from_a_trusted_proxy() -> None:
    def statuses(address: str) -> list[int]:
        options = AccessOptions(failed_attempt_limit="2/minute", passcode="pw")
        with app_client(options, address=address) as c:
            return [
                c.post(
                    "/api/token",
                    json=JOIN | {"passcode": "guess"},
                    headers={"X-Forwarded-For": f"203.0.113.{i}"},
                ).status_code
                for i in range(3)
            ]

    # From anyone else the header is the client's own claim: one budget.
    assert statuses("198.51.100.7") == [401, 401, 429]
    # From a trusted proxy (this machine by default), the address it names is the client.
    assert statuses("127.0.0.1") == [401, 401, 401]


def test_rate_limits_can_be_switched_off() -> None:
    options = AccessOptions(rate_limit=None, failed_attempt_limit=None, passcode="pw")
    with app_client(options) as c:
        assert {c.post("/api/token", json=JOIN).status_code for _ in range(40)} == {401}


# -- origin and content type ------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("https://localhost", 401),  # the server's own page
        ("https://localhost:443", 401),
        ("HTTPS://LocalHost", 401),
        ("http://localhost", 403),  # another scheme is another origin
        ("https://localhost:8080", 403),
        ("https://evil.example", 403),
        ("null", 403),  # sandboxed iframes, file:// pages
        ("https://localhost.evil.example", 403),
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


def test_a_tls_proxy_origin_is_accepted_from_a_trusted_proxy() -> None:
    options = AccessOptions(passcode="pw")
    app = create_app(AppOptions(livekit=DEAD, web_dir=Path("/nonexistent"), access=options))
    headers = {"Origin": "https://localhost", "X-Forwarded-Proto": "https"}
    for proxy, status in [("127.0.0.1", 401), ("198.51.100.7", 403)]:
        # Plain HTTP to roomscribe; the proxy says the browser used HTTPS.
        with TestClient(app, base_url="http://localhost", client=(proxy, 40000)) as c:
            r = c.post("/api/token", json=JOIN, headers=headers)
        assert r.status_code == status, r.text
    assert "passcode only over HTTPS" in detail(r)  # X-Forwarded-Proto from anyone: ignored


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
