"""Healers that find the same dead captioner at once give the room one new dispatch.

Real livekit-server, no agent worker (so the dispatches stay to be counted): a
talker publishes a microphone, a stand-in captioner (identity
``roomscribe-captions``) beat once and went silent, the room has a roomscribe
dispatch. Four :class:`DispatchHealer` instances (four workers) look at the room
in the same instant. LiveKit never lists two participants with one identity, so
counting captioners proves nothing; the dispatches tell: exactly one healer
re-dispatches, and the room ends with exactly one roomscribe dispatch.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from livekit import api

from roomscribe import protocol
from roomscribe.livekit.healer import DispatchHealer, HealerOptions
from tests.fixtures.livekit import LiveKitServer, running_livekit_server
from tests.livekit.participants import (
    Speaker,
    captioners,
    connect,
    connect_with,
    custom_token,
    dispatches,
    settings_of,
)

pytestmark = [pytest.mark.livekit, pytest.mark.serial]


async def race(server: LiveKitServer, room: str, healers: int) -> None:
    """One room with a dead captioner, ``healers`` healers looking at it at once."""
    # silent at once, no grace: each heals on its first look; none runs by itself
    options = HealerOptions(interval_s=3600, missing_s=0.0, join_grace_s=0.0, grace_s=0.0)
    talker = Speaker(await connect(server, room, "talker"))
    token = custom_token(server, room, protocol.AGENT_IDENTITY, can_publish_data=True, kind="agent")
    dead = await connect_with(server, token, subscribe=False)
    racers = [DispatchHealer(settings_of(server), options) for _ in range(healers)]
    try:
        await talker.publish()
        async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as client:
            beat = {protocol.ATTR_HEARTBEAT: "1"}  # its one and last beat
            await client.room.update_participant(
                api.UpdateParticipantRequest(
                    room=room, identity=protocol.AGENT_IDENTITY, attributes=beat
                )
            )
            request = api.CreateAgentDispatchRequest(agent_name=protocol.AGENT_NAME, room=room)
            first = await client.agent_dispatch.create_dispatch(request)
        for healer in racers:
            await healer.start()
        for _ in range(50):  # the server lists the track and the beat a moment later
            seen = await racers[0].room_state(room)
            if seen.has_audio and (seen.captioner or "").endswith("/1"):
                break
            await asyncio.sleep(0.1)
        healed = await asyncio.gather(*(h.check() for h in racers))
        left = await dispatches(server, room)
        assert sorted(map(len, healed)) == [0] * (healers - 1) + [1], healed
        assert sum(h.heals for h in racers) == 1
        assert len(left) == 1, left
        assert left[0].id != first.id
        assert await captioners(server, room) == 0  # the dead one was removed
    finally:
        for healer in racers:
            await healer.aclose()
        await talker.aclose()
        await dead.disconnect()


async def test_healers_racing_for_one_room_dispatch_it_once(tmp_path: Path) -> None:
    with running_livekit_server(tmp_path) as server:
        # three rooms: the interleaving differs from run to run, a lost claim shows
        for i in range(3):
            await race(server, f"race-{i}", healers=4)
