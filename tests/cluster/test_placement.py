"""Load-aware placement on a LiveKit cluster: two workers with ``--max-streams 2`` each.

A worker reports its load as engine streams in use / ``ROOMSCRIBE_MAX_STREAMS``
and LiveKit offers rooms only to workers below 1.0. Worker X is filled by a
room with two speakers; the next room goes to the other worker, Y; once Y is
full too, a new room with a speaker gets no captioner (LiveKit does not retry
a dispatch no worker could take: it stays in the room with no job) until a
slot frees, and then the dispatch healer of
:mod:`roomscribe.livekit.healer` re-dispatches it and it is captioned.
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

pytestmark = pytest.mark.cluster

MAX_STREAMS = 2
FULL = "worker is at full capacity"
"""livekit-agents logs this when it reports the worker full to LiveKit."""
AVAILABLE = "worker is below capacity"
WAITING_S = 12.0
"""How long the room that no worker can take is watched for a captioner
(longer than a healer's grace for a fresh dispatch plus one pass)."""


@pytest.fixture(scope="module")
def workers(cluster: Cluster, artifacts_dir: Path) -> Iterator[tuple[AgentWorker, ...]]:
    """One ``roomscribe agent --max-streams 2`` on each node."""
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


def server_of(workers: tuple[AgentWorker, ...], room: str) -> int:
    serving = [i for i, w in enumerate(workers) if room in worker_rooms(w)]
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


async def test_full_workers_leave_a_room_waiting_until_a_slot_frees(
    cluster: Cluster, workers: tuple[AgentWorker, ...], eval_dir: Path
) -> None:
    node_a, node_b = cluster.nodes
    # Fill one worker: a room with two speakers.
    first = await speakers_in(node_a, "placement-1", ["ann", "art"])
    x = server_of(workers, "placement-1")
    y = 1 - x
    await wait_logged(workers[x], FULL, 1)

    # The next room can only go to the other worker; fill it too.
    second = await speakers_in(node_b, "placement-2", ["bea", "ben"])
    assert server_of(workers, "placement-2") == y
    await wait_logged(workers[y], FULL, 1)

    # Both full: a new room with a speaker (talking from the start) has to wait.
    # (the talker's join creates the room: its token's room configuration is the dispatch)
    talker = Speaker(
        await connect(node_b, "placement-3", "cat", dispatch_agent=True, subscribe=False)
    )
    listener = Listener(await connect(node_a, "placement-3", "lou", subscribe=False))
    listener.start()
    await talker.publish()
    speech = read_wav(eval_dir / "allison-a.wav")[: 90 * SAMPLE_RATE]
    talking = asyncio.create_task(talker.play(speech, time.monotonic()))
    try:
        joined = await poll_until(
            lambda: protocol.AGENT_IDENTITY in listener.room.remote_participants, WAITING_S
        )
        assert not joined, "a full worker took a room it cannot caption"
        async with api.LiveKitAPI(node_a.url, node_a.api_key, node_a.api_secret) as client:
            dispatches = await client.agent_dispatch.list_dispatch("placement-3")
        jobs = [len(d.state.jobs) for d in dispatches]
        print(f"\n[placement] both workers full: dispatches of placement-3 hold jobs {jobs}")

        # A speaker of the first room leaves: its worker has a free slot again.
        available_before = workers[x].log_text().count(AVAILABLE)
        await first[0].aclose()
        await wait_logged(workers[x], AVAILABLE, available_before + 1)
        await listener.wait_agent(timeout_s=60)
        assert server_of(workers, "placement-3") == x
        captioned = await poll_until(lambda: bool(listener.finals("cat")), timeout_s=30)
        assert captioned, f"no caption for the waiting room:\n{workers[x].log_text()[-3000:]}"
        for worker in workers:
            assert "not captioning" not in worker.log_text()  # never over capacity
    finally:
        talking.cancel()
        await asyncio.gather(talking, return_exceptions=True)
        for s in [*first[1:], *second, talker]:
            await s.aclose()
        await listener.aclose()
