"""Dispatching the roomscribe agent to a real livekit-server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psutil
import pytest
from livekit import api, rtc

from roomscribe import protocol
from roomscribe.server.token import TokenService
from roomscribe.settings import LiveKitSettings
from tests.fixtures.livekit import (
    AgentWorker,
    LiveKitServer,
    running_agent,
    running_livekit_server,
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


def _crash(worker: AgentWorker) -> None:
    """Kill the worker and its job processes at once, as a crash or an OOM kill would."""
    parent = psutil.Process(worker.process.pid)
    for p in [*parent.children(recursive=True), parent]:
        p.kill()
    worker.process.wait()


async def _wait_gone(client: api.LiveKitAPI, room: str, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while await _agents(client, room):
        assert time.monotonic() < deadline, f"the dead captioner is still in {room}"
        await asyncio.sleep(0.5)


async def test_room_whose_worker_crashed_gets_a_new_captioner(tmp_path: Path) -> None:
    # its own server and workers: one of them is killed
    room = "crashed-worker"
    with running_livekit_server(tmp_path) as server:
        settings = LiveKitSettings(server.url, server.api_key, server.api_secret)
        tokens = TokenService(settings, stale_dispatch_s=1.0)
        await tokens.start()
        human = rtc.Room()
        try:
            async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as client:
                with running_agent(server, tmp_path / "first-agent.log") as first:
                    grant = await tokens.join(room, "Ada")  # creates the room: dispatch in token
                    await human.connect(grant.url, grant.token)
                    await _wait_agent(client, room, 30)
                    _crash(first)
                    await _wait_gone(client, room, 60)
                # LiveKit still lists the dead worker's dispatch (its job "running")
                dispatches = await client.agent_dispatch.list_dispatch(room)
                assert any(d.agent_name == protocol.AGENT_NAME for d in dispatches)
                with running_agent(server, tmp_path / "second-agent.log"):
                    await asyncio.sleep(2.0)
                    assert await _agents(client, room) == []  # nobody re-dispatches by itself
                    await tokens.join(room, "Bob")  # the next join notices and dispatches again
                    await _wait_agent(client, room, 30)
        finally:
            await human.disconnect()
            await tokens.aclose()
