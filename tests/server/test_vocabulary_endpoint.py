"""``POST /api/vocabulary`` against a real livekit-server: who may set a room's terms."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from livekit import api, rtc

from roomscribe import protocol
from roomscribe.server.app import AppOptions, create_app
from roomscribe.server.token import JoinRequest, mint_token
from roomscribe.settings.access import AccessOptions
from roomscribe.settings.livekit import LiveKitSettings
from tests.fixtures.livekit import LiveKitServer
from tests.livekit.participants import connect_with, poll_until

pytestmark = pytest.mark.livekit

ROOM = "vocab-room"


def settings_of(server: LiveKitServer) -> LiveKitSettings:
    return LiveKitSettings(url=server.url, api_key=server.api_key, api_secret=server.api_secret)


def token_for(server: LiveKitServer, room: str, identity: str) -> str:
    join = JoinRequest(room=room, name=identity, identity=identity)
    return mint_token(settings_of(server), join, dispatch_agent=False)


@pytest.fixture
def client(livekit_server: LiveKitServer, tmp_path: Path) -> Iterator[TestClient]:
    options = AppOptions(
        livekit=settings_of(livekit_server),
        web_dir=tmp_path / "none",
        access=AccessOptions(passcode="s3cret", rate_limit=None, failed_attempt_limit=None),
    )
    # https: a passcode from another machine (TestClient's "testclient") only over HTTPS
    with TestClient(create_app(options), base_url="https://localhost") as c:
        yield c


@dataclass
class Member:
    """A participant in the room, holding the token it joined with."""

    room: rtc.Room
    token: str


@pytest.fixture
async def member(livekit_server: LiveKitServer) -> AsyncIterator[Member]:
    token = token_for(livekit_server, ROOM, "ada")
    room = await connect_with(livekit_server, token)
    async with api.LiveKitAPI(
        livekit_server.url, livekit_server.api_key, livekit_server.api_secret
    ) as lk:
        # someone else's key in the metadata, which must survive
        await lk.room.update_room_metadata(
            api.UpdateRoomMetadataRequest(room=ROOM, metadata='{"topic": "standup"}')
        )
    try:
        yield Member(room, token)
    finally:
        await room.disconnect()


async def post(client: TestClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    # TestClient blocks; the rtc.Room of the test needs its event loop meanwhile
    return await asyncio.to_thread(client.post, "/api/vocabulary", json=body, headers=headers)


async def room_metadata(server: LiveKitServer) -> dict[str, Any]:
    async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as lk:
        rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[ROOM]))
    metadata: dict[str, Any] = json.loads(rooms.rooms[0].metadata)
    return metadata


async def test_a_member_sets_the_room_vocabulary(
    client: TestClient, livekit_server: LiveKitServer, member: Member
) -> None:
    body = {"room": ROOM, "terms": [" Asterisk", "VoIP", "O'Brien"], "token": member.token}
    r = await post(client, {**body, "passcode": "s3cret"})
    assert r.status_code == 200, r.text
    assert r.json() == {"room": ROOM, "terms": ["Asterisk", "VoIP", "O'Brien"]}
    assert await room_metadata(livekit_server) == {
        "topic": "standup",
        protocol.METADATA_VOCABULARY: ["Asterisk", "VoIP", "O'Brien"],
    }
    # everyone in the room sees it in the room's metadata
    assert await poll_until(
        lambda: protocol.METADATA_VOCABULARY in member.room.metadata, timeout_s=10
    ), member.room.metadata

    r = await post(client, {**body, "terms": [], "passcode": "s3cret"})
    assert r.status_code == 200, r.text
    assert (await room_metadata(livekit_server))[protocol.METADATA_VOCABULARY] == []


async def test_a_token_for_another_room_is_refused(
    client: TestClient, livekit_server: LiveKitServer, member: Member
) -> None:
    other = token_for(livekit_server, "another-room", "ada")
    body = {"room": ROOM, "terms": ["Asterisk"], "token": other, "passcode": "s3cret"}
    r = await post(client, body)
    assert r.status_code == 403, r.text
    assert "not a join token for room" in r.json()["detail"]
    assert protocol.METADATA_VOCABULARY not in await room_metadata(livekit_server)


@pytest.mark.parametrize(
    ("token_kind", "detail"),
    [
        ("forged", "not valid"),
        ("garbage", "not valid"),
        ("absent", "not in room"),
    ],
)
async def test_tokens_that_prove_nothing_are_refused(
    client: TestClient, livekit_server: LiveKitServer, member: Member, token_kind: str, detail: str
) -> None:
    token = {
        # our token's shape, signed with a secret that is not the server's
        "forged": mint_token(
            LiveKitSettings(
                url=livekit_server.url, api_key=livekit_server.api_key, api_secret="x" * 40
            ),
            JoinRequest(room=ROOM, name="eve", identity="eve"),
            dispatch_agent=False,
        ),
        "garbage": "not.a.jwt",
        # a valid token for the room whose holder never joined it
        "absent": token_for(livekit_server, ROOM, "mallory"),
    }[token_kind]
    body = {"room": ROOM, "terms": ["Asterisk"], "token": token, "passcode": "s3cret"}
    r = await post(client, body)
    assert r.status_code == 403, r.text
    assert detail in r.json()["detail"]
    assert protocol.METADATA_VOCABULARY not in await room_metadata(livekit_server)


@pytest.mark.parametrize(
    "terms",
    [
        ["ok", "bad\nterm"],
        ["<b>bold</b>"],
        [f"term{i}" for i in range(31)],
        ["x" * 41],
        [""],
        [f"{i:02d}" + "x" * 38 for i in range(16)],
    ],
)
async def test_bad_terms_are_400(
    client: TestClient, livekit_server: LiveKitServer, member: Member, terms: list[str]
) -> None:
    body = {"room": ROOM, "terms": terms, "token": member.token, "passcode": "s3cret"}
    r = await post(client, body)
    assert r.status_code == 400, r.text
    assert isinstance(r.json()["detail"], str)
    assert protocol.METADATA_VOCABULARY not in await room_metadata(livekit_server)


async def test_the_access_guard_screens_it(
    client: TestClient, livekit_server: LiveKitServer, member: Member
) -> None:
    body = {"room": ROOM, "terms": ["Asterisk"], "token": member.token}
    assert (await post(client, body)).status_code == 401  # no passcode
    assert (await post(client, {**body, "passcode": "wrong"})).status_code == 401
    foreign = await post(client, {**body, "passcode": "s3cret"}, origin="https://evil.example")
    assert foreign.status_code == 403
    assert "origin" in foreign.json()["detail"]
    assert protocol.METADATA_VOCABULARY not in await room_metadata(livekit_server)
