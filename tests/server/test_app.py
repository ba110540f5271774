"""The web server's API: token endpoint against a real livekit-server, config, static files."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from livekit import api, rtc

from roomscribe import protocol
from roomscribe.asr.whisper import WhisperOptions
from roomscribe.server.app import AppOptions, create_app
from roomscribe.server.token import JoinRequest, mint_token
from roomscribe.settings.access import AccessOptions
from roomscribe.settings.asr import AsrOptions, engine_options
from roomscribe.settings.livekit import LiveKitSettings
from tests.fixtures.livekit import LiveKitServer, free_port

LOCAL = "http://localhost"
"""A ``Host`` the app serves (TestClient's default ``testserver`` is not one)."""


def settings_of(server: LiveKitServer) -> LiveKitSettings:
    return LiveKitSettings(url=server.url, api_key=server.api_key, api_secret=server.api_secret)


@pytest.fixture
def client(livekit_server: LiveKitServer, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(AppOptions(livekit=settings_of(livekit_server), web_dir=tmp_path / "none"))
    with TestClient(app, base_url=LOCAL) as c:
        yield c


def verify(server: LiveKitServer, token: str) -> api.Claims:
    return api.TokenVerifier(server.api_key, server.api_secret).verify(token)


async def list_dispatches(server: LiveKitServer, room: str) -> list[api.AgentDispatch]:
    async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as lk:
        return [
            d
            for d in await lk.agent_dispatch.list_dispatch(room)
            if d.agent_name == protocol.AGENT_NAME
        ]


@pytest.mark.livekit
def test_token_for_a_new_room_dispatches_through_room_config(
    client: TestClient, livekit_server: LiveKitServer
) -> None:
    r = client.post("/api/token", json={"room": "fresh-room", "name": " Ada "})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["url"] == livekit_server.url
    assert body["room"] == "fresh-room"
    claims = verify(livekit_server, body["token"])
    assert claims.identity == body["identity"]
    assert claims.name == "Ada"
    assert claims.video is not None
    assert claims.video.room == "fresh-room"
    assert claims.room_config is not None
    assert [a.agent_name for a in claims.room_config.agents] == [protocol.AGENT_NAME]


@pytest.mark.livekit
def test_existing_room_gets_exactly_one_explicit_dispatch(
    client: TestClient, livekit_server: LiveKitServer
) -> None:
    async def create_room() -> None:
        async with api.LiveKitAPI(
            livekit_server.url, livekit_server.api_key, livekit_server.api_secret
        ) as lk:
            await lk.room.create_room(api.CreateRoomRequest(name="existing-room"))

    asyncio.run(create_room())
    for name in ("Ada", "Grace"):
        r = client.post("/api/token", json={"room": "existing-room", "name": name})
        assert r.status_code == 200, r.text
        claims = verify(livekit_server, r.json()["token"])
        assert claims.room_config is None or not claims.room_config.agents
    assert len(asyncio.run(list_dispatches(livekit_server, "existing-room"))) == 1


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"room": "no spaces", "name": "Ada"}, 400, "room must be"),
        ({"room": "r", "name": ""}, 400, "name must be"),
        ({"room": "r"}, 400, "name must be"),
        ({"room": "r", "name": "Ada\u200b"}, 400, "invisible"),
        ({"name": "Ada"}, 422, "room"),
    ],
)
@pytest.mark.livekit
def test_invalid_token_requests_get_4xx_json(
    client: TestClient, body: dict[str, str], status: int, detail: str
) -> None:
    r = client.post("/api/token", json=body)
    assert r.status_code == status
    assert detail in str(r.json()["detail"])


@pytest.mark.livekit
def test_a_client_chosen_identity_is_ignored(
    client: TestClient, livekit_server: LiveKitServer
) -> None:
    r = client.post(
        "/api/token", json={"room": "r", "name": "Eve", "identity": protocol.AGENT_IDENTITY}
    )
    assert r.status_code == 200, r.text
    identity = verify(livekit_server, r.json()["token"]).identity
    assert identity == r.json()["identity"]
    assert identity != protocol.AGENT_IDENTITY
    assert identity.startswith("Eve-")


def test_unreachable_livekit_is_503(tmp_path: Path) -> None:
    dead = LiveKitSettings(url=f"ws://127.0.0.1:{free_port()}", api_key="k", api_secret="s" * 32)
    with TestClient(create_app(AppOptions(livekit=dead, web_dir=tmp_path)), base_url=LOCAL) as c:
        r = c.post("/api/token", json={"room": "r", "name": "Ada"})
    assert r.status_code == 503
    assert "unreachable" in r.json()["detail"]


@pytest.mark.livekit
async def test_livekit_rejects_a_token_signed_with_another_secret(
    livekit_server: LiveKitServer,
) -> None:
    forged = LiveKitSettings(
        url=livekit_server.url, api_key=livekit_server.api_key, api_secret="x" * 40
    )
    token = mint_token(forged, JoinRequest("r", "Eve", "eve"), dispatch_agent=False)
    room = rtc.Room()
    with pytest.raises(rtc.ConnectError):
        await room.connect(livekit_server.url, token)


def test_config_and_health(tmp_path: Path) -> None:
    settings = LiveKitSettings(url="wss://lk.example.org", api_key="k", api_secret="s" * 32)
    lk = TestClient(create_app(AppOptions(livekit=settings, web_dir=tmp_path)), base_url=LOCAL)
    assert lk.get("/api/config").json() == {
        "mode": "livekit",
        "livekit_url": "wss://lk.example.org",
        "passcode_required": False,
    }
    assert lk.get("/healthz").json() == {"status": "ok", "mode": "livekit"}
    # no lifespan: the embedded engine is not loaded for these requests
    embedded = TestClient(create_app(AppOptions(web_dir=tmp_path)), base_url=LOCAL)
    assert embedded.get("/api/config").json() == {"mode": "embedded", "passcode_required": False}
    # browsers get the public URL when the server is configured with an internal one
    internal = replace(settings, url="ws://livekit:7880", public_url="wss://lk.example.org")
    behind = TestClient(create_app(AppOptions(livekit=internal, web_dir=tmp_path)), base_url=LOCAL)
    assert behind.get("/api/config").json()["livekit_url"] == "wss://lk.example.org"
    r = embedded.post("/api/token", json={"room": "r", "name": "Ada"})
    assert r.status_code == 409
    assert "embedded" in r.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "instead"),
    [
        ("/api/token", {"room": "r", "name": "Ada"}, "use POST /api/offer"),
        ("/api/vocabulary", {"room": "r", "terms": [], "token": "t"}, "rooms have no vocabulary"),
        (
            "/api/language",
            {"room": "r", "language": "fr", "token": "t"},
            "set it on the data channel",
        ),
        ("/api/translation", {"room": "r", "target": "en", "token": "t"}, "no translations"),
    ],
)
def test_livekit_routes_in_embedded_mode_check_the_passcode_then_refuse(
    path: str, body: dict[str, object], instead: str, tmp_path: Path
) -> None:
    """Each LiveKit-only route tells the mode only to a caller it admits (401 first)."""
    access = AccessOptions(passcode="open sesame")
    app = create_app(AppOptions(web_dir=tmp_path, access=access))
    c = TestClient(app, base_url="https://localhost")  # a passcode travels over HTTPS only
    assert c.post(path, json=body).status_code == 401
    r = c.post(path, json={**body, "passcode": "open sesame"})
    assert (r.status_code, r.json()) == (
        409,
        {"detail": f"the server runs in embedded mode: {instead}"},
    )


def test_serves_the_built_web_client(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<title>roomscribe client</title>")
    (tmp_path / "app.js").write_text("console.log(1)")
    c = TestClient(create_app(AppOptions(web_dir=tmp_path)), base_url=LOCAL)
    assert "roomscribe client" in c.get("/").text
    assert c.get("/app.js").status_code == 200
    assert c.get("/healthz").status_code == 200  # API routes are not shadowed


def test_explains_an_unbuilt_web_client(tmp_path: Path) -> None:
    c = TestClient(create_app(AppOptions(web_dir=tmp_path / "dist")), base_url=LOCAL)
    r = c.get("/")
    assert r.status_code == 200
    assert "not built" in r.text
    assert "npm run build" in r.text


@pytest.mark.model
def test_embedded_mode_loads_the_engine_and_serves_offers(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<title>roomscribe client</title>")
    asr = AsrOptions(
        whisper=replace(WhisperOptions(), model="tiny.en"), engine=engine_options(language="en")
    )
    app = create_app(AppOptions(asr=asr, web_dir=tmp_path))
    for _ in range(2):  # a second lifespan must not serve the first one's closed service
        with TestClient(app, base_url=LOCAL) as c:
            r = c.post("/api/offer", json={"sdp": "not an sdp", "type": "offer"})
            assert r.status_code in (400, 422), r.text  # the offer route, not the static files
            assert "roomscribe client" in c.get("/").text
    assert [route for route in app.routes if getattr(route, "path", "") == "/api/offer"] == []
