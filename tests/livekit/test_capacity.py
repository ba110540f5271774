"""No starved speaker: a track refused because the engine is full is captioned as
soon as a stream is released in *any* room of the worker, and until then the room
and the operator are told it waits (real livekit-server, real participants).

Two rooms share one engine of two streams, each room's captioner on a thread and
event loop of its own, as the worker runs its jobs; the engine is the scripted
tone recognizer of ``tests/asr/fakes`` (this is about scheduling, not speech).
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import TracebackType

import pytest
from livekit import rtc
from prometheus_client.parser import text_string_to_metric_families

from roomscribe import metrics, protocol
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.policy import PolicyOptions
from roomscribe.livekit.capacity import CapacityWaiters
from roomscribe.livekit.captioner import RoomCaptioner
from tests.asr.fakes import EnergyVad, ToneRecognizer, synth
from tests.fixtures.livekit import LiveKitServer, running_livekit_server
from tests.livekit.participants import Listener, Speaker, connect, custom_token, poll_until

pytestmark = pytest.mark.livekit

CAPTIONED_WITHIN_S = 3.0
"""The issue's bound: from the slot freeing to the waiting speaker's first caption."""


class CaptionerThread:
    """A captioner joined to one room on its own thread and event loop (a worker's job)."""

    def __init__(
        self, server: LiveKitServer, room: str, engine: Engine, capacity: CapacityWaiters
    ) -> None:
        self._server, self._room, self._engine, self._capacity = server, room, engine, capacity
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=f"captioner {room}")

    def __enter__(self) -> CaptionerThread:
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise AssertionError(f"captioner of {self._room} did not start: {self._error!r}")
        return self

    def __exit__(
        self, tp: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert self._error is None, self._error

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as e:
            self._error = e
            self._ready.set()

    async def _serve(self) -> None:
        agent = rtc.Room()
        token = custom_token(
            self._server,
            self._room,
            protocol.AGENT_IDENTITY,
            can_publish_data=True,
            kind="agent",
            can_update_own_metadata=True,
        )
        await agent.connect(self._server.url, token, rtc.RoomOptions(auto_subscribe=False))
        captioner = RoomCaptioner(self._engine, agent, capacity=self._capacity)
        captioner.start()
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await captioner.aclose()
            await agent.disconnect()


def tracks_waiting_metric() -> float:
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            if sample.name == "roomscribe_tracks_waiting":
                return float(sample.value)
    raise AssertionError("roomscribe_tracks_waiting is not exported")


def waiting_in(room: rtc.Room) -> list[str]:
    """The track sids the room's captioner says wait for capacity."""
    agent = room.remote_participants.get(protocol.AGENT_IDENTITY)
    return agent.attributes.get(protocol.ATTR_WAITING, "").split() if agent else []


async def test_a_speaker_waiting_in_one_room_gets_the_stream_another_room_frees(
    tmp_path: Path,
) -> None:
    engine = Engine(
        ToneRecognizer(),
        EnergyVad(),
        EngineOptions(max_streams=2, policy=PolicyOptions(language="en")),
    )
    engine.start()
    capacity = CapacityWaiters()
    metrics.TRACKS_WAITING.set_function(lambda: capacity.waiting)  # as the worker does
    hearing: list[tuple[float, str]] = []
    with (
        running_livekit_server(tmp_path) as server,
        CaptionerThread(server, "room-a", engine, capacity),
        CaptionerThread(server, "room-b", engine, capacity),
    ):
        # room A takes both streams
        ada = Speaker(await connect(server, "room-a", "ada", subscribe=False))
        alan = Speaker(await connect(server, "room-a", "alan", subscribe=False))
        for speaker in (ada, alan):
            await speaker.publish()
            await speaker.wait_subscribed()
        assert await poll_until(lambda: engine.active_streams == 2, 10)

        # bea speaks in room B: refused, and the room and the operator are told so
        listener = Listener(await connect(server, "room-b", "carl"))
        listener.start()
        bea = Speaker(await connect(server, "room-b", "bea", subscribe=False))

        def on_data(packet: rtc.DataPacket) -> None:
            if packet.topic == protocol.HEARING_TOPIC:
                hearing.append((time.monotonic(), packet.data.decode()))

        bea.room.on("data_received", on_data)
        await bea.publish()
        await bea.wait_subscribed()
        assert await poll_until(lambda: waiting_in(listener.room) == [bea.track_sid], 10), (
            waiting_in(listener.room)
        )
        assert tracks_waiting_metric() == 1
        words = ["hello", "there.", "|", "how", "are", "you", "today?", "|"] * 3
        talking = asyncio.create_task(bea.play(synth(words), time.monotonic()))
        await asyncio.sleep(1.0)
        assert not hearing, "captioned while the engine was full"

        # one of room A's talkers leaves: its stream goes to bea, in the other room
        freed = time.monotonic()
        await alan.aclose()
        assert await poll_until(lambda: bool(hearing), 10), "bea was never captioned"
        assert await poll_until(
            lambda: any(c.sender == "bea" and c.text.strip() for c in listener.captions), 10
        ), listener.captions
        first_caption = listener.t0 + min(
            c.t for c in listener.captions if c.sender == "bea" and c.text.strip()
        )
        print(
            f"\nslot freed -> bea heard {hearing[0][0] - freed:.2f} s, "
            f"first caption {first_caption - freed:.2f} s"
        )
        assert hearing[0][1] == bea.track_sid
        assert first_caption - freed < CAPTIONED_WITHIN_S
        assert await poll_until(lambda: waiting_in(listener.room) == [], 10)
        assert tracks_waiting_metric() == 0

        talking.cancel()
        for speaker in (ada, bea):
            await speaker.aclose()
        await listener.aclose()
    engine.close(timeout=5)
