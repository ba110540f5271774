"""The captioner applies the room's vocabulary from its metadata (real livekit-server).

The tone recognizer of ``tests/asr/fakes`` records every decode request, so the
test sees which terms the model was given. (Whether the terms help a real model
is measured by the revision work, not here.)
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from livekit import api, rtc

from roomscribe import protocol
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.policy import PolicyOptions
from roomscribe.livekit.captioner import RoomCaptioner
from tests.asr.fakes import EnergyVad, ToneRecognizer, synth
from tests.fixtures.livekit import LiveKitServer, running_livekit_server
from tests.livekit.participants import Speaker, connect, custom_token, poll_until

pytestmark = pytest.mark.livekit

ROOM = "vocabulary"


def metadata(terms: object) -> str:
    return json.dumps({"topic": "standup", protocol.METADATA_VOCABULARY: terms})


async def set_metadata(server: LiveKitServer, value: str) -> None:
    async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as lk:
        await lk.room.update_room_metadata(api.UpdateRoomMetadataRequest(room=ROOM, metadata=value))


async def test_the_captioner_applies_the_room_vocabulary(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="roomscribe.livekit.captioner")
    recognizer = ToneRecognizer()
    engine = Engine(recognizer, EnergyVad(), EngineOptions(policy=PolicyOptions(language="en")))
    engine.start()
    with running_livekit_server(tmp_path) as server:
        async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as lk:
            await lk.room.create_room(
                api.CreateRoomRequest(name=ROOM, metadata=metadata(["Asterisk", "VoIP"]))
            )
        agent = rtc.Room()
        token = custom_token(
            server, ROOM, protocol.AGENT_IDENTITY, can_publish_data=True, kind="agent"
        )
        await agent.connect(server.url, token, rtc.RoomOptions(auto_subscribe=False))
        captioner = RoomCaptioner(engine, agent)
        captioner.start()
        ada = Speaker(await connect(server, ROOM, "ada", subscribe=False))
        try:
            # read at start
            assert captioner.vocabulary == ("Asterisk", "VoIP")
            await ada.publish()
            await ada.wait_subscribed()
            words = ["hello", "there.", "|", "how", "are", "you", "today?", "|"]
            await ada.play(synth(words), time.monotonic())
            assert recognizer.requests, "nothing was decoded"
            assert {r.vocabulary for r in recognizer.requests} == {("Asterisk", "VoIP")}

            # invalid terms (written with API keys, past the server's check): kept the old ones
            await set_metadata(server, metadata(["ok", "bad\nterm"]))
            assert await poll_until(lambda: "ignoring its vocabulary" in caplog.text, 10)
            assert captioner.vocabulary == ("Asterisk", "VoIP")

            # changed while the track is captioned: later decodes use the new terms
            await set_metadata(server, metadata(["PBX", "O'Brien"]))
            assert await poll_until(lambda: captioner.vocabulary == ("PBX", "O'Brien"), 10)
            assert "vocabulary: 2 term(s) ['PBX', \"O'Brien\"]" in caplog.text
            decoded = len(recognizer.requests)
            await ada.play(synth(words), time.monotonic())
            later = recognizer.requests[decoded:]
            assert later, "nothing was decoded after the change"
            assert later[-1].vocabulary == ("PBX", "O'Brien")

            # cleared
            await set_metadata(server, metadata([]))
            assert await poll_until(lambda: captioner.vocabulary == (), 10)
        finally:
            await captioner.aclose()
            await ada.aclose()
            await agent.disconnect()
            engine.close(timeout=5)
