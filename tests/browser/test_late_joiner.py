"""A late joiner's transcript panel starts with what was said before they joined (Chromium).

Real livekit-server and ``roomscribe serve``; the captioner runs in this process
on the scripted tone recognizer of ``tests/asr/fakes`` (no model), joined as an
agent as the worker's is. Ada (a Python participant) speaks; then Bob joins in
Chromium and receives the backlog; then Ada says more, live.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from livekit import rtc

from roomscribe import protocol
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.policy import PolicyOptions
from roomscribe.bench.metrics import normalizer
from roomscribe.bench.metrics import words as normalized_words
from roomscribe.livekit.captioner import RoomCaptioner
from tests.asr.fakes import EnergyVad, ToneRecognizer, synth
from tests.browser import checks
from tests.browser.conftest import FakeMic, ServeFactory
from tests.browser.test_forged_captions import HeldSession
from tests.fixtures.livekit import LiveKitServer
from tests.livekit.participants import Speaker, connect, custom_token, poll_until

pytestmark = [pytest.mark.browser, pytest.mark.livekit]

_normalize = normalizer("en")


def words(text: str) -> list[str]:
    return normalized_words(text, _normalize)


@pytest.fixture(scope="module")
def server_url(livekit_server: LiveKitServer, roomscribe_serve: ServeFactory) -> str:
    return roomscribe_serve(livekit=livekit_server)


@dataclass(frozen=True, slots=True)
class CaptionedRoom:
    name: str
    captioner: RoomCaptioner


@pytest.fixture
async def captioned(livekit_server: LiveKitServer) -> AsyncIterator[CaptionedRoom]:
    engine = Engine(
        ToneRecognizer(), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en"))
    )
    engine.start()
    room = f"late-{secrets.token_hex(3)}"
    agent = rtc.Room()
    token = custom_token(
        livekit_server, room, protocol.AGENT_IDENTITY, can_publish_data=True, kind="agent"
    )
    await agent.connect(livekit_server.url, token, rtc.RoomOptions(auto_subscribe=False))
    captioner = RoomCaptioner(engine, agent)
    captioner.start()
    try:
        yield CaptionedRoom(room, captioner)
    finally:
        await captioner.aclose()
        await agent.disconnect()
        engine.close(timeout=5)


async def test_a_late_joiners_transcript_shows_what_was_said_before(
    server_url: str,
    livekit_server: LiveKitServer,
    fake_mic: FakeMic,
    captioned: CaptionedRoom,
) -> None:
    room, captioner = captioned.name, captioned.captioner
    ada = Speaker(await connect(livekit_server, room, "ada", subscribe=False))
    try:
        await ada.publish()
        await ada.wait_subscribed()
        before = ["hello", "there.", "|", "how", "are", "you", "today?", "|"]
        await ada.play(synth(before), time.monotonic())
        assert await poll_until(lambda: len(captioner.transcript.segments()) >= 2, 20)
        earlier = [s.text for s in captioner.transcript.segments()]

        bob = {"name": "Bob", "audio": str(fake_mic.silence)}
        config = {"url": server_url, "room": room, "participants": [bob]}
        async with HeldSession(config) as session:
            # Bob is in the room: Ada goes on, live
            await ada.play(synth(["good", "morning.", "|"]), time.monotonic())
            report = await session.report_when(text="morning", ignored=0, timeout_ms=30_000)
    finally:
        await ada.aclose()

    page = checks.participant(report, "Bob")
    checks.connected_without_errors(page)
    transcript = [(e["speaker"], words(e["text"])) for e in page["transcript"]]
    # What Ada said before Bob joined, in order, under her name, then the live part.
    # Words, not exact text: the revision pass may have revised the text since.
    assert transcript[: len(earlier)] == [("ada", words(text)) for text in earlier], transcript
    live = [c["text"] for c in page["captions"]]
    assert any("morning" in text for text in live), live
    # the backlog is the transcript so far, not live speech
    assert not [text for text in live if words(text) in map(words, earlier)], live
    assert not [line for line in page["consoleErrors"] if "backlog" in line]
