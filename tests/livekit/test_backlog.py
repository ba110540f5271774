"""What the captioner addresses to one participant alone (real livekit-server): the
transcript so far for late joiners, and the notice that a microphone is captioned.

The captioner runs in-process on the scripted tone recognizer of ``tests/asr/fakes``
and joins as an agent, as the worker's does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from livekit import rtc

from roomscribe import protocol
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.policy import PolicyOptions
from roomscribe.livekit.captioner import RoomCaptioner
from roomscribe.server.token import JoinRequest, mint_token
from tests.asr.fakes import EnergyVad, ToneRecognizer, synth
from tests.fixtures.livekit import LiveKitServer, running_livekit_server
from tests.livekit.participants import (
    Listener,
    Speaker,
    connect,
    custom_token,
    poll_until,
    settings_of,
)

pytestmark = pytest.mark.livekit

ROOM = "late-joiners"
MARKER_TOPIC = "test.marker"


@dataclass
class Member:
    """A participant who records every backlog (and marker) stream it receives."""

    room: rtc.Room
    backlogs: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    """(sender identity, segments) per backlog stream."""
    markers: list[str] = field(default_factory=list)
    hearing: list[tuple[str, str]] = field(default_factory=list)
    """(sender identity, track sid) per hearing notice."""
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def _on(self, kind: str) -> Any:
        def handler(reader: rtc.TextStreamReader, sender: str) -> None:
            task = asyncio.create_task(self._read(kind, reader, sender))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return handler

    async def _read(self, kind: str, reader: rtc.TextStreamReader, sender: str) -> None:
        text = await reader.read_all()
        if kind == "backlog":
            self.backlogs.append((sender, json.loads(text)))
        else:
            self.markers.append(text)


async def join(server: LiveKitServer, identity: str) -> Member:
    """Join with the web app's token, listening for backlogs before connecting."""
    member = Member(rtc.Room())
    member.room.register_text_stream_handler(protocol.BACKLOG_TOPIC, member._on("backlog"))
    member.room.register_text_stream_handler(MARKER_TOPIC, member._on("marker"))
    member.room.on("data_received", partial(_on_data, member.hearing))
    token = mint_token(
        settings_of(server),
        JoinRequest(room=ROOM, name=identity.title(), identity=identity),
        dispatch_agent=False,
    )
    await member.room.connect(server.url, token)
    return member


def _on_data(hearing: list[tuple[str, str]], packet: rtc.DataPacket) -> None:
    if packet.topic == protocol.HEARING_TOPIC and packet.participant is not None:
        hearing.append((packet.participant.identity, packet.data.decode()))


@asynccontextmanager
async def captioned_room(
    tmp_path: Path,
) -> AsyncIterator[tuple[LiveKitServer, RoomCaptioner, rtc.Room]]:
    """A livekit-server and a captioner in ROOM; the room is the agent's connection."""
    engine = Engine(
        ToneRecognizer(), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en"))
    )
    engine.start()
    with running_livekit_server(tmp_path) as server:
        agent = rtc.Room()
        token = custom_token(
            server, ROOM, protocol.AGENT_IDENTITY, can_publish_data=True, kind="agent"
        )
        await agent.connect(server.url, token, rtc.RoomOptions(auto_subscribe=False))
        captioner = RoomCaptioner(engine, agent)
        captioner.start()
        try:
            yield server, captioner, agent
        finally:
            await captioner.aclose()
            await agent.disconnect()
            engine.close(timeout=5)


def sent_to(caplog: pytest.LogCaptureFixture, identity: str) -> int:
    """How many backlogs the captioner sent ``identity`` (its log line)."""
    return caplog.text.count(f"sent {identity} the backlog")


async def test_a_late_joiner_receives_the_backlog_and_nobody_else_does(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="roomscribe.livekit.captioner")
    async with captioned_room(tmp_path) as (server, _, agent):
        carol = await join(server, "carol")  # there before anyone spoke
        live = Listener(carol.room)
        live.start()
        ada = Speaker(await connect(server, ROOM, "ada", subscribe=False))
        await ada.publish()
        await ada.wait_subscribed()
        sentences = ["hello", "there.", "|", "how", "are", "you", "today?", "|"]
        sentences += ["good", "morning.", "|", "please", "press", "one", "|"]
        await ada.play(synth(sentences), time.monotonic())
        assert await poll_until(lambda: len(live.finals("ada")) >= 3, 20), live.captions
        await live.wait_quiet(quiet_s=2.0, timeout_s=20)
        # LiveKit announces a subscribing participant only once her connection is
        # up (seconds after she joined), so Carol may get a backlog of what was
        # final by then: addressed to her, and only those.
        assert len(carol.backlogs) == sent_to(caplog, "carol")
        carol_before = len(carol.backlogs)

        bob = await join(server, "bob")
        assert await poll_until(lambda: bool(bob.backlogs), 20), "no backlog for bob"
        sender, segments = bob.backlogs[0]
        assert sender == protocol.AGENT_IDENTITY

        # exactly the finals the room saw live, in order, under the same segment ids
        seen_live: dict[str, str] = {}
        for c in live.finals("ada"):
            seen_live[c.segment_id] = c.text
        assert [(s["segment_id"], s["text"]) for s in segments] == [
            (sid, text.strip()) for sid, text in seen_live.items() if text.strip()
        ]
        assert {s["speaker"] for s in segments} == {"ada"}
        assert {s["speaker_name"] for s in segments} == {"ada"}  # its display name
        assert {s["track_id"] for s in segments} == {ada.track_sid}
        assert all(s["end"] > s["start"] >= 0 and s["language"] == "en" for s in segments)
        assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)

        # Anything the agent broadcast before this marker reaches carol before it
        # (one sender, one ordered reliable channel): once she has the marker, a
        # backlog addressed to everyone would be in her list.
        writer = await agent.local_participant.stream_text(topic=MARKER_TOPIC)
        await writer.write("after bob's backlog")
        await writer.aclose()
        assert await poll_until(lambda: bool(carol.markers) and bool(bob.markers), 20)
        assert len(carol.backlogs) == carol_before == sent_to(caplog, "carol")
        assert len(bob.backlogs) == sent_to(caplog, "bob") == 1

        for member in (carol, bob):
            await member.room.disconnect()
        await ada.aclose()


async def test_a_speaker_is_told_when_the_captioner_hears_their_microphone(
    tmp_path: Path,
) -> None:
    """Speech before the captioner subscribes is lost (LiveKit does not buffer it
    for a late subscriber): the page says "starting" until this notice."""
    async with captioned_room(tmp_path) as (server, _, agent):
        carol = await join(server, "carol")
        ada = await join(server, "ada")
        speaker = Speaker(ada.room)
        await speaker.publish()
        assert await poll_until(lambda: bool(ada.hearing), 20), "no hearing notice for ada"
        assert ada.hearing == [(protocol.AGENT_IDENTITY, speaker.track_sid)]

        # her new microphone track is announced too, once
        await speaker.republish()
        assert await poll_until(lambda: len(ada.hearing) == 2, 20), ada.hearing
        assert ada.hearing[1] == (protocol.AGENT_IDENTITY, speaker.track_sid)

        # addressed to ada alone: a broadcast the agent sends after both notices
        # reaches carol after anything broadcast before it (one ordered channel)
        marker: list[bytes] = []
        carol.room.on("data_received", lambda p: marker.append(p.data))
        await agent.local_participant.publish_data("after", topic=MARKER_TOPIC)
        assert await poll_until(lambda: bool(marker), 20)
        assert carol.hearing == []
        for member in (carol, ada):
            await member.room.disconnect()
