"""Load-aware placement on a LiveKit cluster: two workers with ``--max-streams 4`` each.

A worker reports its load as engine streams in use / ``ROOMSCRIBE_MAX_STREAMS``
and takes rooms until every stream is in use. Rooms here are filled with
speakers, each one stream. A full worker's next room goes to the other worker,
also when that one is past LiveKit's ``agents.target_load`` (0.7 by default:
LiveKit offers no room to a worker whose reported load is above it). When both
workers are full, a new room gets no captioner (LiveKit does not retry a
dispatch no worker could take: it stays in the room with no job) until a slot
frees; then the dispatch healer of :mod:`roomscribe.livekit.healer`
re-dispatches it and it is captioned.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from livekit import api

from roomscribe import protocol
from tests.conftest import read_wav
from tests.fixtures.cluster import Cluster, running_worker, worker_rooms
from tests.fixtures.livekit import AgentWorker, LiveKitServer
from tests.livekit.participants import SAMPLE_RATE, Listener, Speaker, connect, poll_until

pytestmark = [pytest.mark.cluster, pytest.mark.serial]

MAX_STREAMS = 4
FULL = "worker is at full capacity"
"""livekit-agents logs this when it reports the worker full to LiveKit."""
AVAILABLE = "worker is below capacity"
LOAD_REPORT_S = 3.0
"""A worker reports its load to LiveKit every 2.5 s (livekit-agents' status interval)."""
WAITING_S = 12.0
"""How long the room that no worker can take is watched for a captioner
(longer than a healer's grace for a fresh dispatch plus one pass)."""


@pytest.fixture(scope="module")
def workers(cluster: Cluster, artifacts_dir: Path) -> Iterator[tuple[AgentWorker, ...]]:
    """One ``roomscribe agent --max-streams 4`` on each node."""
    env = {"ROOMSCRIBE_MAX_STREAMS": str(MAX_STREAMS)}
    with ExitStack() as stack:
        yield tuple(
            stack.enter_context(
                running_worker(node, artifacts_dir / f"placement-worker-{i}.log", env)
            )
            for i, node in enumerate(cluster.nodes)
        )


async def wait_logged(worker: AgentWorker, text: str, count: int, timeout_s: float = 20) -> None:
    """Until ``text`` appears ``count`` times in the worker's log."""
    if not await poll_until(lambda: worker.log_text().count(text) >= count, timeout_s):
        raise AssertionError(f"{text!r} not logged {count}x:\n{worker.log_text()[-3000:]}")


async def server_of(workers: tuple[AgentWorker, ...], room: str) -> int:
    """The one worker captioning ``room``, from the workers' logs (a captioner is in the
    room a moment before its worker logs it: wait for the line)."""

    def serving_workers() -> list[int]:
        return [i for i, w in enumerate(workers) if room in worker_rooms(w)]

    await poll_until(lambda: bool(serving_workers()), timeout_s=10)
    serving = serving_workers()
    assert len(serving) == 1, f"{room} is captioned by workers {serving}"
    return serving[0]


async def speakers_in(node: LiveKitServer, room: str, names: list[str]) -> list[Speaker]:
    """Join ``names`` to ``room`` (the first one's token dispatches the agent), publish,
    and wait until the captioner subscribed to every one of them."""
    speakers = []
    for i, name in enumerate(names):
        # not subscribing: a track's "subscribed" event must mean the captioner's subscription
        speaker = Speaker(await connect(node, room, name, dispatch_agent=i == 0, subscribe=False))
        await speaker.publish()
        speakers.append(speaker)
    await asyncio.gather(*(s.wait_subscribed(30) for s in speakers))
    return speakers


class TalkingRoom:
    """A new room whose first participant talks from the join on, and a listener."""

    def __init__(self, talker: Speaker, listener: Listener, talking: asyncio.Task[None]) -> None:
        self.talker = talker
        self.listener = listener
        self._talking = talking

    @classmethod
    async def open(cls, cluster: Cluster, room: str, eval_dir: Path) -> TalkingRoom:
        node_a, node_b = cluster.nodes
        # the talker's join creates the room: its token's room configuration is the dispatch
        talker = Speaker(
            await connect(node_b, room, "talker", dispatch_agent=True, subscribe=False)
        )
        listener = Listener(await connect(node_a, room, "listener", subscribe=False))
        listener.start()
        await talker.publish()
        speech = read_wav(eval_dir / "allison-a.wav")[: 90 * SAMPLE_RATE]
        return cls(talker, listener, asyncio.create_task(talker.play(speech, time.monotonic())))

    def has_captioner(self) -> bool:
        return protocol.AGENT_IDENTITY in self.listener.room.remote_participants

    async def captioned(self, timeout_s: float = 30) -> bool:
        """Whether the talker's speech reaches the listener as a final caption."""
        return await poll_until(lambda: bool(self.listener.finals("talker")), timeout_s)

    async def aclose(self) -> None:
        self._talking.cancel()
        await asyncio.gather(self._talking, return_exceptions=True)
        await self.talker.aclose()
        await self.listener.aclose()


def names(room: str, n: int) -> list[str]:
    return [f"{room}-s{i}" for i in range(n)]


async def fill(
    workers: tuple[AgentWorker, ...], node: LiveKitServer, room: str, n: int
) -> tuple[list[Speaker], int]:
    """A room with ``n`` speakers; returns them and the index of the worker captioning it."""
    full_before = [w.log_text().count(FULL) for w in workers]
    speakers = await speakers_in(node, room, names(room, n))
    serving = await server_of(workers, room)
    if n == MAX_STREAMS:  # until LiveKit knows, it may offer this worker the next room
        await wait_logged(workers[serving], FULL, full_before[serving] + 1)
    else:
        await asyncio.sleep(LOAD_REPORT_S)
    return speakers, serving


async def close_all(speakers: list[Speaker]) -> None:
    for s in speakers:
        await s.aclose()


async def test_worker_past_livekit_target_load_still_gets_rooms(
    cluster: Cluster, workers: tuple[AgentWorker, ...], eval_dir: Path
) -> None:
    node_a, node_b = cluster.nodes
    full, x = await fill(workers, node_a, "busy-full", MAX_STREAMS)
    # only the other worker is left; 3 of its 4 streams in use is a load of 0.75
    partly, y = await fill(workers, node_b, "busy-3of4", MAX_STREAMS - 1)
    assert y != x
    talking = await TalkingRoom.open(cluster, "busy-next", eval_dir)
    try:
        joined = await poll_until(talking.has_captioner, timeout_s=30)
        assert joined, f"no captioner for a room while worker {y} had a free stream"
        assert await server_of(workers, "busy-next") == y
        assert await talking.captioned(), workers[y].log_text()[-3000:]
    finally:
        await talking.aclose()
        await close_all([*full, *partly])


async def test_full_workers_leave_a_room_waiting_until_a_slot_frees(
    cluster: Cluster, workers: tuple[AgentWorker, ...], eval_dir: Path
) -> None:
    node_a, node_b = cluster.nodes
    first, x = await fill(workers, node_a, "wait-1", MAX_STREAMS)
    second, y = await fill(workers, node_b, "wait-2", MAX_STREAMS)  # the only one left
    assert y != x

    # Both full: a new room with a speaker (talking from the start) has to wait.
    talking = await TalkingRoom.open(cluster, "wait-3", eval_dir)
    try:
        joined = await poll_until(talking.has_captioner, WAITING_S)
        assert not joined, "a full worker took a room it cannot caption"
        async with api.LiveKitAPI(node_a.url, node_a.api_key, node_a.api_secret) as client:
            dispatches = await client.agent_dispatch.list_dispatch("wait-3")
        jobs = [len(d.state.jobs) for d in dispatches]
        print(f"\n[placement] both workers full: dispatches of wait-3 hold jobs {jobs}")

        # A speaker of the first room leaves: its worker has a free stream again.
        available_before = workers[x].log_text().count(AVAILABLE)
        await first[0].aclose()
        await wait_logged(workers[x], AVAILABLE, available_before + 1)
        joined = await poll_until(talking.has_captioner, timeout_s=60)
        assert joined, f"the waiting room got no captioner:\n{workers[x].log_text()[-3000:]}"
        assert await server_of(workers, "wait-3") == x
        assert await talking.captioned(), workers[x].log_text()[-3000:]
        for worker in workers:
            assert "not captioning" not in worker.log_text()  # never over capacity
    finally:
        await talking.aclose()
        await close_all([*first[1:], *second])
