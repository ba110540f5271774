"""Dispatching the roomscribe agent to a real livekit-server.

A restarted lone worker healing the room of its crashed self, seen by people
in Chromium too, is in ``tests/browser/test_captioner_heal.py``.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from livekit import api

from roomscribe import protocol
from tests.fixtures.livekit import (
    AgentWorker,
    LiveKitServer,
)

pytestmark = pytest.mark.livekit


async def _agents(client: api.LiveKitAPI, room: str) -> list[api.ParticipantInfo]:
    resp = await client.room.list_participants(api.ListParticipantsRequest(room=room))
    return [p for p in resp.participants if p.identity == protocol.AGENT_IDENTITY]


async def _wait_agent(client: api.LiveKitAPI, room: str, wait_s: float) -> api.ParticipantInfo:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        agents = await _agents(client, room)
        if agents:
            return agents[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no captioner joined {room} within {wait_s} s")


async def test_second_dispatch_to_a_room_is_refused(
    livekit_server: LiveKitServer, agent_worker: AgentWorker
) -> None:
    room = "dispatch-twice"
    async with api.LiveKitAPI(
        livekit_server.url, livekit_server.api_key, livekit_server.api_secret
    ) as client:
        await client.room.create_room(api.CreateRoomRequest(name=room))
        request = api.CreateAgentDispatchRequest(agent_name=protocol.AGENT_NAME, room=room)
        await client.agent_dispatch.create_dispatch(request)
        first = await _wait_agent(client, room, 20)

        await client.agent_dispatch.create_dispatch(request)
        deadline = time.monotonic() + 20
        while "refusing the dispatch" not in agent_worker.log_text():
            assert time.monotonic() < deadline, agent_worker.log_text()
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)

        agents = await _agents(client, room)
        assert [a.sid for a in agents] == [first.sid]  # the first captioner was not replaced
        await client.room.delete_room(api.DeleteRoomRequest(room=room))
