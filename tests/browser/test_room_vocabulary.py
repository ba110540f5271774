"""The room vocabulary editor in Chromium, end to end: page -> server -> room metadata -> agent.

Real livekit-server and ``roomscribe serve``; the captioner runs in this process
on the scripted tone recognizer (see ``test_late_joiner``). Bob, in Chromium,
sees the room's vocabulary on joining, saves new terms, and is refused bad ones.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from livekit import api

from roomscribe import protocol
from tests.browser.conftest import WEB_CLIENT, FakeMic, ServeFactory
from tests.browser.test_late_joiner import CaptionedRoom, captioned  # noqa: F401 (fixture)
from tests.fixtures.livekit import LiveKitServer
from tests.livekit.participants import poll_until

pytestmark = [pytest.mark.browser, pytest.mark.livekit]


@pytest.fixture(scope="module")
def server_url(livekit_server: LiveKitServer, roomscribe_serve: ServeFactory) -> str:
    return roomscribe_serve(livekit=livekit_server)


async def vocabulary_session(config: dict[str, Any]) -> dict[str, Any]:
    """``e2e/vocabulary.mjs``, without blocking this loop (the captioner runs on it)."""
    proc = await asyncio.create_subprocess_exec(
        "node",
        "e2e/vocabulary.mjs",
        json.dumps(config),
        cwd=WEB_CLIENT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    report: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    assert report["ok"], f"browser session failed: {report.get('error')}\n{err.decode()}"
    return report


async def room_metadata(server: LiveKitServer, room: str) -> dict[str, Any]:
    async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as lk:
        rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
    metadata: dict[str, Any] = json.loads(rooms.rooms[0].metadata)
    return metadata


async def test_the_vocabulary_editor_sets_the_room_vocabulary_the_agent_uses(
    server_url: str,
    livekit_server: LiveKitServer,
    fake_mic: FakeMic,
    captioned: CaptionedRoom,  # noqa: F811
) -> None:
    s = livekit_server
    async with api.LiveKitAPI(s.url, s.api_key, s.api_secret) as lk:
        metadata = json.dumps({"topic": "standup", protocol.METADATA_VOCABULARY: ["PBX"]})
        await lk.room.update_room_metadata(
            api.UpdateRoomMetadataRequest(room=captioned.name, metadata=metadata)
        )
    assert await poll_until(lambda: captioned.captioner.vocabulary == ("PBX",), 10)

    report = await vocabulary_session(
        {
            "url": server_url,
            "room": captioned.name,
            "name": "Bob",
            "audio": str(fake_mic.silence),
            "save": " Asterisk, VoIP,,O'Brien ",
            "bad": "Asterisk, <script>",
        }
    )
    assert report["pageErrors"] == []
    assert report["onJoin"] == ["PBX"]
    saved = ["Asterisk", "VoIP", "O'Brien"]
    assert report["saved"] == saved
    assert "may only contain letters" in report["badError"]
    assert report["afterBad"] == saved  # refused: the room keeps its terms
    assert await room_metadata(s, captioned.name) == {
        "topic": "standup",
        protocol.METADATA_VOCABULARY: saved,
    }
    assert await poll_until(lambda: captioned.captioner.vocabulary == tuple(saved), 10)
