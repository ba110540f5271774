"""Caption authenticity against a real livekit-server: only agents can make captions appear.

A guest joins with a token from the web app's own :class:`TokenService` and
tries to put words in someone else's mouth: ``lk.transcription`` text streams
(as itself and on behalf of another participant) and a legacy transcription
packet. Python listeners in the room must receive none of it. Controls show
the listeners would have seen it: a participant whose token grants data
publishing gets its stream through (under its own identity, whatever it
claims), and an agent-kind participant gets its on-behalf stream and legacy
packet through.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from livekit import api, rtc

from roomscribe import protocol
from roomscribe.server.livekit_admin import LiveKitAdmin
from roomscribe.server.token import TokenService
from tests.fixtures.livekit import LiveKitServer
from tests.livekit.participants import (
    Listener,
    connect_with,
    custom_token,
    poll_until,
    send_caption,
    send_legacy_caption,
    settings_of,
)

pytestmark = pytest.mark.livekit

QUIET_S = 2.0
"""After the sentinel arrived, how long the listeners keep listening for stragglers."""


@dataclass
class Room:
    name: str
    server: LiveKitServer
    ada: Listener
    """A web user (token from TokenService): the one words are put in the mouth of."""
    observer: Listener
    """Another participant, with a plain test token."""
    others: list[rtc.Room] = field(default_factory=list)
    """Everyone else who joined; they leave with the room."""

    @property
    def listeners(self) -> tuple[Listener, Listener]:
        return self.ada, self.observer

    @property
    def ada_identity(self) -> str:
        return self.ada.room.local_participant.identity


async def web_user_token(server: LiveKitServer, room: str, name: str) -> str:
    """A token exactly as ``POST /api/token`` hands it out."""
    admin = LiveKitAdmin(settings_of(server))
    await admin.start()
    try:
        return (await TokenService(admin).join(room, name)).token
    finally:
        await admin.aclose()


@pytest.fixture
async def room(livekit_server: LiveKitServer) -> AsyncIterator[Room]:
    name = f"authenticity-{secrets.token_hex(3)}"
    ada = Listener(
        await connect_with(livekit_server, await web_user_token(livekit_server, name, "Ada"))
    )
    observer_token = custom_token(livekit_server, name, "observer", can_publish_data=False)
    observer = Listener(await connect_with(livekit_server, observer_token))
    for listener in (ada, observer):
        listener.start()
    joined = Room(name, livekit_server, ada, observer)
    yield joined
    for other in joined.others:
        await other.disconnect()
    for listener in (ada, observer):
        await listener.aclose()


async def join(room: Room, token: str) -> rtc.Room:
    """Join ``room`` and wait until both listeners know the newcomer."""
    joined = await connect_with(room.server, token, subscribe=False)
    room.others.append(joined)
    identity = joined.local_participant.identity
    known = await poll_until(
        lambda: all(identity in lst.room.remote_participants for lst in room.listeners), 10
    )
    assert known, f"the listeners never saw {identity} join"
    return joined


async def wait_sentinel(room: Room, sentinel: str) -> None:
    """Until every listener has the sentinel caption, then ``QUIET_S`` more for stragglers.

    The sentinel is sent after the forgeries from a participant allowed to send
    data, so by the time it is in, the forged packets had their chance.
    """
    arrived = await poll_until(
        lambda: all(any(c.text == sentinel for c in lst.captions) for lst in room.listeners), 15
    )
    assert arrived, "the control participant's sentinel caption never arrived"
    for listener in room.listeners:
        await listener.wait_quiet(QUIET_S, QUIET_S * 2)


def jwt_claims(token: str) -> dict[str, Any]:
    """The JWT payload as sent, so absent and ``false`` grants are told apart."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


async def test_web_user_token_grants_no_data_publishing(livekit_server: LiveKitServer) -> None:
    token = await web_user_token(livekit_server, "authenticity-grants", "Mallory")
    video = jwt_claims(token)["video"]
    # Explicitly false: livekit-server reads a missing canPublishData as canPublish (true).
    assert video["canPublishData"] is False, video
    assert "agent" not in video or video["agent"] is False, video
    claims = api.TokenVerifier(livekit_server.api_key, livekit_server.api_secret).verify(token)
    assert claims.kind in ("", "standard"), claims.kind
    assert claims.video is not None
    assert claims.video.can_publish_data is False


async def test_forged_captions_from_a_web_user_reach_nobody(room: Room) -> None:
    mallory = await join(room, await web_user_token(room.server, room.name, "Mallory"))
    me = mallory.local_participant.identity
    # The SFU's view of the guest, as every participant receives it.
    assert room.observer.room.remote_participants[me].permissions.can_publish_data is False

    forged = [f"forged caption {i} {secrets.token_hex(2)}" for i in range(3)]
    await send_caption(mallory, forged[0], track_id="TR_mallory")
    await send_caption(mallory, forged[1], track_id="TR_ada", on_behalf_of=room.ada_identity)
    await send_legacy_caption(mallory, forged[2], about=room.ada_identity, track_id="TR_ada")

    control = await join(
        room, custom_token(room.server, room.name, "control", can_publish_data=True)
    )
    sentinel = f"sentinel {secrets.token_hex(2)}"
    await send_caption(control, sentinel, track_id="TR_control")
    await wait_sentinel(room, sentinel)

    for listener in room.listeners:
        assert [(c.sender, c.text) for c in listener.captions] == [("control", sentinel)]
        assert listener.legacy_finals == 0


async def test_data_rights_deliver_streams_only_under_the_senders_own_identity(room: Room) -> None:
    # The control that shows the listeners do see a forgery when the SFU lets it
    # through, and the SFU rule the web client builds on: a non-agent's stream
    # always carries its own identity, and its legacy packets are dropped.
    control = await join(
        room, custom_token(room.server, room.name, "control", can_publish_data=True)
    )
    claimed = f"claimed for ada {secrets.token_hex(2)}"
    legacy = f"legacy from control {secrets.token_hex(2)}"
    await send_caption(control, claimed, track_id="TR_ada", on_behalf_of=room.ada_identity)
    await send_legacy_caption(control, legacy, about=room.ada_identity, track_id="TR_ada")
    sentinel = f"sentinel {secrets.token_hex(2)}"
    await send_caption(control, sentinel, track_id="TR_control")
    await wait_sentinel(room, sentinel)

    for listener in room.listeners:
        assert [(c.sender, c.text) for c in listener.captions] == [
            ("control", claimed),
            ("control", sentinel),
        ]
        assert listener.legacy_finals == 0


async def test_an_agent_may_caption_on_behalf_of_a_participant(room: Room) -> None:
    agent_token = custom_token(
        room.server, room.name, protocol.AGENT_IDENTITY, can_publish_data=True, kind="agent"
    )
    agent = await join(room, agent_token)
    text = f"relayed for ada {secrets.token_hex(2)}"
    await send_caption(agent, text, track_id="TR_ada", on_behalf_of=room.ada_identity)
    await send_legacy_caption(agent, text, about=room.ada_identity, track_id="TR_ada")

    got = await poll_until(
        lambda: all(lst.captions and lst.legacy_finals for lst in room.listeners), 15
    )
    assert got, [(lst.captions, lst.legacy_finals) for lst in room.listeners]
    for listener in room.listeners:
        assert [(c.sender, c.text) for c in listener.captions] == [(room.ada_identity, text)]
        assert listener.legacy_finals == 1
