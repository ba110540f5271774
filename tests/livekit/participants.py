"""Python participants for the LiveKit tests: speakers replaying WAVs, a caption listener."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from livekit import api, rtc
from numpy.typing import NDArray

from roomscribe import protocol
from roomscribe.server.token import JoinRequest, mint_token
from roomscribe.settings.livekit import LiveKitSettings
from tests.fixtures.livekit import LiveKitServer

SAMPLE_RATE = 16_000
FRAME = SAMPLE_RATE // 100  # 10 ms


async def poll_until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Check ``predicate`` every 100 ms until it holds or ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)


async def captioners(server: LiveKitServer, room: str) -> int:
    """How many captioner participants the server lists in ``room``."""
    async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as client:
        resp = await client.room.list_participants(api.ListParticipantsRequest(room=room))
    return sum(p.identity == protocol.AGENT_IDENTITY for p in resp.participants)


async def dispatches(server: LiveKitServer, room: str) -> list[api.AgentDispatch]:
    """The room's roomscribe dispatches: two healers that both healed leave two (counting
    captioners cannot show that: LiveKit lists one participant per identity)."""
    async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as client:
        found = await client.agent_dispatch.list_dispatch(room)
    return [d for d in found if d.agent_name == protocol.AGENT_NAME]


def settings_of(server: LiveKitServer) -> LiveKitSettings:
    return LiveKitSettings(url=server.url, api_key=server.api_key, api_secret=server.api_secret)


async def connect(
    server: LiveKitServer,
    room_name: str,
    identity: str,
    *,
    dispatch_agent: bool = False,
    subscribe: bool = True,
) -> rtc.Room:
    token = mint_token(
        settings_of(server),
        JoinRequest(room=room_name, name=identity, identity=identity),
        dispatch_agent=dispatch_agent,
    )
    return await connect_with(server, token, subscribe=subscribe)


async def connect_with(server: LiveKitServer, token: str, *, subscribe: bool = True) -> rtc.Room:
    """Join with a ready-made token."""
    room = rtc.Room()
    await room.connect(server.url, token, rtc.RoomOptions(auto_subscribe=subscribe))
    return room


async def set_spoken_language(
    server: LiveKitServer, room: str, identity: str, language: str
) -> None:
    """What ``POST /api/language`` does for a web client, whose token may not set
    its own attributes."""
    await set_attribute(server, room, identity, protocol.ATTR_SPOKEN_LANGUAGE, language)


async def set_attribute(
    server: LiveKitServer, room: str, identity: str, name: str, value: str
) -> None:
    """Set a participant attribute with the API key (as the server's endpoints do)."""
    async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as client:
        await client.room.update_participant(
            api.UpdateParticipantRequest(room=room, identity=identity, attributes={name: value})
        )


def custom_token(
    server: LiveKitServer,
    room_name: str,
    identity: str,
    *,
    can_publish_data: bool,
    kind: Literal["standard", "agent"] = "standard",
    can_update_own_metadata: bool = False,
) -> str:
    """A token with exactly the given rights and participant kind (not the web app's).

    The worker's captioner has ``can_update_own_metadata`` (livekit-agents grants it):
    give it to a stand-in captioner that sets attributes."""
    grants = api.VideoGrants(
        room_join=True,
        room=room_name,
        can_subscribe=True,
        can_publish_data=can_publish_data,
        can_update_own_metadata=can_update_own_metadata,
    )
    return (
        api.AccessToken(server.api_key, server.api_secret)
        .with_identity(identity)
        .with_name(identity)
        .with_kind(kind)
        .with_grants(grants)
        .to_jwt()
    )


async def send_caption(
    sender: rtc.Room, text: str, *, track_id: str, on_behalf_of: str | None = None
) -> None:
    """One final caption as the agent's publisher sends it."""
    attributes = {
        protocol.ATTR_SEGMENT_ID: f"seg-{secrets.token_hex(3)}",
        protocol.ATTR_TRACK_ID: track_id,
        protocol.ATTR_FINAL: "true",
    }
    writer = await sender.local_participant.stream_text(
        topic=protocol.TRANSCRIPTION_TOPIC, sender_identity=on_behalf_of, attributes=attributes
    )
    await writer.write(text)
    await writer.aclose()


async def send_legacy_caption(sender: rtc.Room, text: str, *, about: str, track_id: str) -> None:
    """One final legacy transcription packet about ``about``'s track."""
    segment = rtc.TranscriptionSegment(
        id=f"legacy-{secrets.token_hex(3)}",
        text=text,
        start_time=0,
        end_time=1000,
        language="en",
        final=True,
    )
    await sender.local_participant.publish_transcription(
        rtc.Transcription(participant_identity=about, track_sid=track_id, segments=[segment])
    )


@dataclass(frozen=True, slots=True)
class Received:
    """One caption update as the listener saw it."""

    t: float
    """Receive time, seconds since the speakers started sending audio."""
    sender: str
    track_id: str
    segment_id: str
    final: bool
    text: str
    start: float
    end: float
    revision: int = 0
    """``roomscribe.revision``: n >= 1 when the revision pass replaced the segment's final."""
    language: str = ""
    translation_of: str = ""
    """``roomscribe.translation_of``: the segment a translation translates ("" on originals)."""


@dataclass
class Listener:
    """Collects every ``lk.transcription`` text stream of a room."""

    room: rtc.Room
    t0: float = field(default_factory=time.monotonic)
    captions: list[Received] = field(default_factory=list)
    legacy_finals: int = 0
    aborted: list[Received] = field(default_factory=list)
    """Caption streams that closed before their end (their sender left mid-stream)."""
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def start(self) -> None:
        self.room.register_text_stream_handler(protocol.TRANSCRIPTION_TOPIC, self._on_stream)
        self.room.on("transcription_received", self._on_legacy)

    def _on_stream(self, reader: rtc.TextStreamReader, sender: str) -> None:
        task = asyncio.create_task(self._read(reader, sender))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_legacy(self, segments: list[rtc.TranscriptionSegment], *_: object) -> None:
        self.legacy_finals += sum(1 for s in segments if s.final)

    async def _read(self, reader: rtc.TextStreamReader, sender: str) -> None:
        try:
            text = await reader.read_all()
        except rtc.StreamError as e:
            self.aborted.append(self._received(reader, sender, f"<aborted: {e}>"))
            return
        self.captions.append(self._received(reader, sender, text))

    def _received(self, reader: rtc.TextStreamReader, sender: str, text: str) -> Received:
        attrs = reader.info.attributes or {}
        return Received(
            t=time.monotonic() - self.t0,
            sender=sender,
            track_id=attrs.get(protocol.ATTR_TRACK_ID, ""),
            segment_id=attrs.get(protocol.ATTR_SEGMENT_ID, ""),
            final=attrs.get(protocol.ATTR_FINAL) == "true",
            text=text,
            start=float(attrs.get(protocol.ATTR_START, "nan")),
            end=float(attrs.get(protocol.ATTR_END, "nan")),
            revision=int(attrs.get(protocol.ATTR_REVISION, "0")),
            language=attrs.get(protocol.ATTR_LANGUAGE, ""),
            translation_of=attrs.get(protocol.ATTR_TRANSLATION_OF, ""),
        )

    def finals(self, sender: str) -> list[Received]:
        return [c for c in self.captions if c.final and c.sender == sender]

    async def aclose(self) -> None:
        """Read the streams already opened, then leave."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.room.disconnect()

    async def wait_agent(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while protocol.AGENT_IDENTITY not in self.room.remote_participants:
            if time.monotonic() > deadline:
                raise AssertionError(f"the captioning agent did not join in {timeout_s} s")
            await asyncio.sleep(0.1)

    async def wait_quiet(self, quiet_s: float, timeout_s: float) -> None:
        """Wait until no caption arrived for ``quiet_s`` (or ``timeout_s`` passed)."""
        deadline = time.monotonic() + timeout_s
        seen = -1
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            if len(self.captions) != seen:
                seen, last_change = len(self.captions), time.monotonic()
            elif time.monotonic() - last_change >= quiet_s:
                return
            await asyncio.sleep(0.1)


class Speaker:
    """Publishes a microphone track and replays audio into it in real time."""

    def __init__(self, room: rtc.Room) -> None:
        self.room = room
        self.source = rtc.AudioSource(SAMPLE_RATE, 1)
        self.track_sid = ""
        self.track: rtc.LocalAudioTrack | None = None
        self._subscribed = asyncio.Event()

    @property
    def identity(self) -> str:
        return self.room.local_participant.identity

    async def publish(
        self,
        name: str = "microphone",
        source: rtc.TrackSource.ValueType = rtc.TrackSource.SOURCE_MICROPHONE,
    ) -> None:
        if self.track is None:  # the first publication of this speaker
            self.room.on("local_track_subscribed", lambda *_: self._subscribed.set())
        self._subscribed.clear()
        self.track = rtc.LocalAudioTrack.create_audio_track(name, self.source)
        options = rtc.TrackPublishOptions(source=source)
        publication = await self.room.local_participant.publish_track(self.track, options)
        self.track_sid = publication.sid

    async def unpublish(self) -> None:
        await self.room.local_participant.unpublish_track(self.track_sid)

    async def republish(self) -> None:
        """Unpublish the microphone and publish a new one (new track sid, same source)."""
        await self.unpublish()
        await self.publish()

    def mute(self, muted: bool = True) -> None:
        """Mute (or unmute) the published track, as a client's mute button does."""
        assert self.track is not None, "publish first"
        if muted:
            self.track.mute()
        else:
            self.track.unmute()

    async def wait_subscribed(self, timeout_s: float = 20) -> None:
        """Until the agent subscribed, so its stream time matches our audio time."""
        await asyncio.wait_for(self._subscribed.wait(), timeout_s)

    async def aclose(self) -> None:
        """Leave the room (mid-sentence, if still playing)."""
        await self.room.disconnect()
        await self.source.aclose()

    async def play(self, audio: NDArray[np.float32], t0: float) -> None:
        """Send ``audio`` in 10 ms frames, frame ``i`` at ``t0 + i * 10 ms``."""
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
        for i in range(len(pcm) // FRAME):
            delay = t0 + i * 0.01 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            chunk = pcm[i * FRAME : (i + 1) * FRAME]
            frame = rtc.AudioFrame(chunk.tobytes(), SAMPLE_RATE, 1, FRAME)
            await self.source.capture_frame(frame)
