"""Names that stick (real livekit-server, real participants): a guest holding the web
app's token cannot rename itself, so the captions and the transcript carry the name
the server issued; its spoken language is set through ``POST /api/language``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from livekit import api, rtc

from roomscribe import protocol
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.policy import PolicyOptions
from roomscribe.livekit.captioner import RoomCaptioner
from roomscribe.server.app import AppOptions, create_app
from roomscribe.server.token import mint_token, validate_join
from roomscribe.settings.access import AccessOptions
from tests.asr.fakes import EnergyVad, ToneRecognizer, synth
from tests.fixtures.livekit import LiveKitServer
from tests.livekit.participants import (
    Listener,
    Speaker,
    connect,
    connect_with,
    custom_token,
    poll_until,
    settings_of,
)

pytestmark = pytest.mark.livekit


async def listed_name(server: LiveKitServer, room: str, identity: str) -> str:
    """The participant's name as livekit-server lists it."""
    async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as lk:
        info = await lk.room.get_participant(
            api.RoomParticipantIdentity(room=room, identity=identity)
        )
    return info.name


async def attempt(update: Any) -> None:
    """A participant's own update; livekit-server may refuse it silently or with an error."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(update, 5)


@pytest.fixture
async def captioner(livekit_server: LiveKitServer) -> AsyncIterator[RoomCaptioner]:
    """A captioner in room ``names`` on the scripted tone engine, joined as an agent."""
    engine = Engine(
        ToneRecognizer(), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en"))
    )
    engine.start()
    agent = rtc.Room()
    token = custom_token(
        livekit_server,
        "names",
        protocol.AGENT_IDENTITY,
        can_publish_data=True,
        kind="agent",
        can_update_own_metadata=True,
    )
    await agent.connect(livekit_server.url, token, rtc.RoomOptions(auto_subscribe=False))
    captioner = RoomCaptioner(engine, agent)
    captioner.start()
    try:
        yield captioner
    finally:
        await captioner.aclose()
        await agent.disconnect()
        engine.close(timeout=5)


async def test_a_guest_who_renames_itself_is_still_captioned_under_its_issued_name(
    livekit_server: LiveKitServer, captioner: RoomCaptioner
) -> None:
    listener = Listener(await connect(livekit_server, "names", "carl"))
    listener.start()
    join = validate_join("names", "Mallory")  # exactly what POST /api/token issues
    token = mint_token(settings_of(livekit_server), join, dispatch_agent=False)
    mallory = Speaker(await connect_with(livekit_server, token, subscribe=False))
    me = mallory.room.local_participant

    assert await poll_until(lambda: join.identity in listener.room.remote_participants, 10)
    assert not me.permissions.can_update_metadata
    await attempt(me.set_name("Alice (CEO)"))
    await attempt(me.set_attributes({protocol.ATTR_SPOKEN_LANGUAGE: "de"}))

    def seen_by_carl() -> rtc.RemoteParticipant:
        return listener.room.remote_participants[join.identity]

    # a rename would reach the others within a second; give it three
    changed = await poll_until(
        lambda: seen_by_carl().name != "Mallory" or bool(seen_by_carl().attributes), 3
    )
    assert not changed, (seen_by_carl().name, seen_by_carl().attributes)
    assert await listed_name(livekit_server, "names", join.identity) == "Mallory"

    await mallory.publish()
    await mallory.wait_subscribed()
    await mallory.play(synth(["hello", "there.", "|"]), time.monotonic())
    assert await poll_until(lambda: bool(listener.finals(join.identity)), 15), listener.captions
    # what every client labels the captions with, and the transcript late joiners get
    assert seen_by_carl().name == "Mallory"
    assert await poll_until(lambda: bool(captioner.transcript.segments()), 10)
    assert {s.speaker_name for s in captioner.transcript.segments()} == {"Mallory"}
    assert await listed_name(livekit_server, "names", join.identity) == "Mallory"
    await mallory.aclose()
    await listener.aclose()


# -- POST /api/language ------------------------------------------------------------------


@pytest.fixture
def client(livekit_server: LiveKitServer, tmp_path: Path) -> Iterator[TestClient]:
    options = AppOptions(
        livekit=settings_of(livekit_server),
        web_dir=tmp_path / "none",
        access=AccessOptions(passcode="s3cret", rate_limit=None),
    )
    with TestClient(create_app(options), base_url="https://localhost") as c:
        yield c


async def post(client: TestClient, body: dict[str, Any]) -> httpx.Response:
    # TestClient blocks; the rtc.Room of the test needs its event loop meanwhile
    return await asyncio.to_thread(client.post, "/api/language", json=body)


async def test_a_member_sets_its_spoken_language_through_the_server(
    client: TestClient, livekit_server: LiveKitServer
) -> None:
    room = "language-room"
    join = validate_join(room, "Ada")
    token = mint_token(settings_of(livekit_server), join, dispatch_agent=False)
    ada = await connect_with(livekit_server, token)
    bob = await connect(livekit_server, room, "bob")
    try:
        body = {"room": room, "language": "de", "token": token, "passcode": "s3cret"}
        r = await post(client, body)
        assert r.status_code == 200, r.text
        assert r.json() == {"room": room, "language": "de"}

        def seen_by_bob() -> str | None:
            p = bob.remote_participants.get(join.identity)
            return p.attributes.get(protocol.ATTR_SPOKEN_LANGUAGE) if p else None

        assert await poll_until(lambda: seen_by_bob() == "de", 10), seen_by_bob()
        r = await post(client, {**body, "language": "auto"})
        assert r.status_code == 200, r.text
        assert await poll_until(lambda: seen_by_bob() == "auto", 10), seen_by_bob()
        # the server changed the attribute only: the name is still the issued one
        assert await listed_name(livekit_server, room, join.identity) == "Ada"

        r = await post(client, {**body, "language": "klingon"})
        assert r.status_code == 400, r.text
        assert "language" in r.json()["detail"]
        # only a member, only for itself: a token for another room proves nothing here
        other = mint_token(
            settings_of(livekit_server), validate_join("elsewhere", "Ada"), dispatch_agent=False
        )
        r = await post(client, {**body, "token": other})
        assert r.status_code == 403, r.text
        assert (await post(client, {**body, "passcode": "wrong"})).status_code == 401
        assert seen_by_bob() == "auto"
    finally:
        await bob.disconnect()
        await ada.disconnect()


async def test_a_member_asks_for_english_captions_through_the_server(
    client: TestClient, livekit_server: LiveKitServer
) -> None:
    room = "translation-room"
    join = validate_join(room, "Ada")
    token = mint_token(settings_of(livekit_server), join, dispatch_agent=False)
    ada = await connect_with(livekit_server, token)
    bob = await connect(livekit_server, room, "bob")
    try:
        body = {"room": room, "target": "en", "token": token, "passcode": "s3cret"}

        async def post_translation(body: dict[str, Any]) -> httpx.Response:
            return await asyncio.to_thread(client.post, "/api/translation", json=body)

        def seen_by_bob() -> str | None:
            p = bob.remote_participants.get(join.identity)
            return p.attributes.get(protocol.ATTR_TRANSLATE_TO) if p else None

        r = await post_translation(body)
        assert r.status_code == 200, r.text
        assert r.json() == {"room": room, "target": "en"}
        assert await poll_until(lambda: seen_by_bob() == "en", 10), seen_by_bob()
        r = await post_translation({**body, "target": ""})  # unticked: the originals only
        assert r.status_code == 200, r.text
        assert await poll_until(lambda: not seen_by_bob(), 10), seen_by_bob()
        r = await post_translation({**body, "target": "fr"})  # Whisper translates into English
        assert r.status_code == 400, r.text
        assert "en" in r.json()["detail"]
        assert (await post_translation({**body, "passcode": "wrong"})).status_code == 401
    finally:
        await bob.disconnect()
        await ada.disconnect()
