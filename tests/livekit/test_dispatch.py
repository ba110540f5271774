"""Dispatching the roomscribe agent to a real livekit-server."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from livekit import api

from roomscribe import protocol
from tests.fixtures.livekit import (
    AgentWorker,
    LiveKitServer,
    running_agent,
    running_livekit_server,
)
from tests.livekit.participants import Speaker, connect, poll_until

pytestmark = pytest.mark.livekit

HEALED = re.compile(
    r"room crashed-worker (had no captioner for .* re-dispatched|was captioned before)"
)


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


async def test_a_restarted_lone_worker_heals_the_room_of_its_crashed_self(
    tmp_path: Path,
) -> None:
    """The only worker crashes and comes back (as Docker would restart it): it gives
    the room it served a new captioner by itself, with nobody joining."""
    room = "crashed-worker"
    with running_livekit_server(tmp_path) as server:
        speaker = Speaker(await connect(server, room, "ada", dispatch_agent=True))
        await speaker.publish()  # a microphone, so the room needs captions
        try:
            async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as client:
                with running_agent(server, tmp_path / "first-agent.log") as first:
                    dead = await _wait_agent(client, room, 30)
                    first.crash()
                with running_agent(server, tmp_path / "second-agent.log") as second:
                    deadline = time.monotonic() + 30
                    while [a.sid for a in await _agents(client, room)] in ([], [dead.sid]):
                        assert time.monotonic() < deadline, second.log_text()[-3000:]
                        await asyncio.sleep(0.2)
                    assert len(await _agents(client, room)) == 1
                    assert await poll_until(lambda: second.serves(room), 10)
                    # healed by the restarted worker (the dead captioner replaced or, had
                    # the server dropped the dispatch meanwhile, the room dispatched again)
                    assert HEALED.search(second.log_text()), second.log_text()[-3000:]
        finally:
            await speaker.aclose()
