"""CaptionPublisher against a fake room: wire format, slow rooms, closing."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from dataclasses import dataclass, field

import pytest
from livekit import rtc

from roomscribe import protocol
from roomscribe.asr.events import Caption
from roomscribe.livekit.publisher import CaptionPublisher, PublisherOptions


@dataclass
class Sent:
    sender: str
    attributes: dict[str, str]
    text: str = ""


@dataclass
class FakeWriter:
    sent: Sent
    log: list[Sent]

    async def write(self, text: str) -> None:
        self.sent.text += text

    async def aclose(self) -> None:
        self.log.append(self.sent)


@dataclass
class FakeLocalParticipant:
    delay_s: float = 0.0
    streams: list[Sent] = field(default_factory=list)
    legacy: list[rtc.Transcription] = field(default_factory=list)

    async def stream_text(
        self,
        *,
        topic: str,
        sender_identity: str,
        attributes: dict[str, str],
        destination_identities: list[str] | None = None,
    ) -> FakeWriter:
        assert topic == protocol.TRANSCRIPTION_TOPIC
        assert destination_identities is None  # captions go to everyone (translations do not)
        await asyncio.sleep(self.delay_s)
        return FakeWriter(Sent(sender_identity, attributes), self.streams)

    async def publish_transcription(self, transcription: rtc.Transcription) -> None:
        self.legacy.append(transcription)


@dataclass
class FakeRoom:
    local_participant: FakeLocalParticipant

    def isconnected(self) -> bool:
        return True


def caption(seg: str, text: str, final: bool = False) -> Caption:
    return Caption(seg, text, final, (), 1.0, 2.5, "en")


async def test_sends_text_streams_and_legacy_packets() -> None:
    room = FakeRoom(FakeLocalParticipant())
    pub = CaptionPublisher(room, speaker_identity="ada", track_sid="TR_1")  # type: ignore[arg-type]
    pub.start()
    pub.publish(caption("s1-0", "Hello"))
    await asyncio.sleep(0.05)
    pub.publish(caption("s1-0", "Hello world.", final=True))
    await pub.aclose()

    streams = room.local_participant.streams
    assert [(s.sender, s.text) for s in streams] == [("ada", "Hello"), ("ada", "Hello world.")]
    attrs = streams[-1].attributes
    assert attrs[protocol.ATTR_SEGMENT_ID] == "TR_1-s1-0"
    assert attrs[protocol.ATTR_TRACK_ID] == "TR_1"
    assert attrs[protocol.ATTR_FINAL] == "true"
    assert streams[0].attributes[protocol.ATTR_FINAL] == "false"
    legacy = room.local_participant.legacy[-1]
    assert legacy.participant_identity == "ada"
    assert legacy.track_sid == "TR_1"
    assert legacy.segments[0].id == "TR_1-s1-0"
    assert legacy.segments[0].final
    assert legacy.segments[0].start_time == 1000


async def test_a_room_that_asks_for_timed_payloads_gets_json_lines_from_then_on() -> None:
    room = FakeRoom(FakeLocalParticipant())
    pub = CaptionPublisher(room, speaker_identity="ada", track_sid="TR_1")  # type: ignore[arg-type]
    pub.start()
    pub.publish(caption("s1-0", "Hello", final=True))
    await asyncio.sleep(0.05)
    pub.timed = True
    pub.publish(caption("s1-1", "Call forward.", final=True))
    await pub.aclose()

    plain, timed = room.local_participant.streams
    assert (plain.text, protocol.ATTR_FORMAT in plain.attributes) == ("Hello", False)
    assert timed.attributes[protocol.ATTR_FORMAT] == protocol.FORMAT_JSON
    assert json.loads(timed.text) == {"text": "Call forward.", "start_time": 1.0, "end_time": 2.5}
    assert timed.attributes[protocol.ATTR_SEGMENT_ID] == "TR_1-s1-1"  # the rest as before


async def test_slow_room_coalesces_interims_but_keeps_every_final() -> None:
    room = FakeRoom(FakeLocalParticipant(delay_s=0.01))
    pub = CaptionPublisher(
        room,  # type: ignore[arg-type]
        speaker_identity="ada",
        track_sid="TR_1",
        options=PublisherOptions(max_queued=4, legacy_packets=False),
    )
    pub.start()
    for seg in range(20):  # far faster than the room takes them
        for n in range(1, 6):
            pub.publish(caption(f"s1-{seg}", "word " * n))
        pub.publish(caption(f"s1-{seg}", f"sentence {seg}.", final=True))
    await pub.aclose()

    sent = room.local_participant.streams
    finals = [s.text for s in sent if s.attributes[protocol.ATTR_FINAL] == "true"]
    assert finals == [f"sentence {seg}." for seg in range(20)]
    assert len(sent) < 20 * 6  # a queued interim is replaced by its segment's newer update
    assert pub.dropped > 0
    # no interim of a segment after its final
    done: set[str] = set()
    for s in sent:
        seg = s.attributes[protocol.ATTR_SEGMENT_ID]
        assert seg not in done
        if s.attributes[protocol.ATTR_FINAL] == "true":
            done.add(seg)


def stuck_publisher(**options: int | float) -> tuple[CaptionPublisher, FakeRoom]:
    """A publisher whose room never finishes a send (and never times one out)."""
    room = FakeRoom(FakeLocalParticipant(delay_s=3600))
    pub = CaptionPublisher(
        room,  # type: ignore[arg-type]
        speaker_identity="ada",
        track_sid="TR_1",
        options=PublisherOptions(send_timeout_s=3600, legacy_packets=False, **options),  # type: ignore[arg-type]
    )
    pub.start()
    return pub, room


async def test_close_is_bounded_when_the_room_is_stuck(caplog: pytest.LogCaptureFixture) -> None:
    pub, _ = stuck_publisher(close_timeout_s=0.2)
    pub.publish(caption("s1-0", "Hello world.", final=True))
    pub.publish(caption("s1-1", "Goodbye.", final=True))
    async with asyncio.timeout(5):
        await pub.aclose()
    assert "gave up publishing 1 caption(s) of ada" in caplog.text


async def test_finals_backlog_is_bounded_when_the_room_is_stuck() -> None:
    pub, _ = stuck_publisher(max_queued=2, max_queued_finals=4, close_timeout_s=0.1)
    pub.publish(caption("s1-0", "first.", final=True))
    await asyncio.sleep(0.05)  # the first is being sent (forever)
    for seg in range(1, 11):
        pub.publish(caption(f"s1-{seg}", f"sentence {seg}.", final=True))
    assert pub.dropped_finals == 6  # ten queued, four kept: memory stays bounded
    async with asyncio.timeout(5):
        await pub.aclose()


async def test_a_revision_is_a_new_final_stream_of_the_same_segment() -> None:
    room = FakeRoom(FakeLocalParticipant())
    pub = CaptionPublisher(room, speaker_identity="ada", track_sid="TR_1")  # type: ignore[arg-type]
    pub.start()
    pub.publish(caption("s1-0", "Press to.", final=True))
    pub.publish(Caption("s1-0", "Press two.", True, (), 1.0, 2.5, "en", revision=1))
    await pub.aclose()

    live, revised = room.local_participant.streams
    assert (live.text, revised.text) == ("Press to.", "Press two.")
    assert revised.attributes[protocol.ATTR_SEGMENT_ID] == live.attributes[protocol.ATTR_SEGMENT_ID]
    assert revised.attributes[protocol.ATTR_FINAL] == "true"
    assert revised.attributes[protocol.ATTR_REVISION] == "1"
    assert protocol.ATTR_REVISION not in live.attributes
    assert room.local_participant.legacy[-1].segments[0].text == "Press two."


async def test_a_closed_publisher_lets_go_of_its_hook() -> None:
    """The hook is a bound method of the pipeline that owns the publisher: kept after
    close, that cycle held closed pipelines, and their track's and participant's
    native handles, until the cyclic GC's next full collection."""

    class Owner:
        def __init__(self, room: FakeRoom) -> None:
            self.sent: list[Caption] = []
            self.publisher = CaptionPublisher(
                room,  # type: ignore[arg-type]
                speaker_identity="ada",
                track_sid="TR_1",
                on_sent=self.on_sent,
            )

        def on_sent(self, caption: Caption) -> None:
            self.sent.append(caption)

    owner = Owner(FakeRoom(FakeLocalParticipant()))
    owner.publisher.start()
    owner.publisher.publish(caption("s1-0", "Hello world.", final=True))
    await owner.publisher.aclose()
    assert [c.text for c in owner.sent] == ["Hello world."]
    ref = weakref.ref(owner)
    gc.disable()
    try:
        del owner
        assert ref() is None
    finally:
        gc.enable()
