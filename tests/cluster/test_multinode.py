"""LiveKit multi-node: two ``livekit-server`` nodes sharing Redis, one worker on each.

A speaker connected to node A is captioned by exactly one worker and a
listener connected to node B receives those captions; rooms dispatched through
either node spread over both workers (the split is printed and written to
``artifacts/cluster-split.json``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from livekit import api

from roomscribe import protocol
from roomscribe.bench.metrics import wer as word_error_rate
from tests.conftest import read_wav
from tests.fixtures.cluster import Cluster, running_worker, worker_rooms
from tests.fixtures.livekit import AgentWorker, LiveKitServer
from tests.livekit.participants import SAMPLE_RATE, Listener, Speaker, connect
from tests.livekit.test_captions import check_finals_never_change, load_reference, transcript

pytestmark = pytest.mark.cluster

SPEECH_SECONDS = 20.0
MAX_WER = 0.15
SPREAD_ROOMS = 6
LOAD_REPORT_S = 3.0
"""A worker reports its load to LiveKit every 2.5 s (livekit-agents' status interval)."""


@pytest.fixture(scope="module")
def workers(cluster: Cluster, artifacts_dir: Path) -> Iterator[tuple[AgentWorker, ...]]:
    """``roomscribe agent`` on each node (default ``--max-streams``)."""
    with ExitStack() as stack:
        yield tuple(
            stack.enter_context(running_worker(node, artifacts_dir / f"cluster-worker-{i}.log"))
            for i, node in enumerate(cluster.nodes)
        )


async def captioners(node: LiveKitServer, room: str) -> list[api.ParticipantInfo]:
    async with api.LiveKitAPI(node.url, node.api_key, node.api_secret) as client:
        resp = await client.room.list_participants(api.ListParticipantsRequest(room=room))
    return [p for p in resp.participants if p.identity == protocol.AGENT_IDENTITY]


def serving(workers: tuple[AgentWorker, ...], room: str) -> list[int]:
    """Indices of the workers that captioned ``room``, once per time they started it."""
    return [i for i, w in enumerate(workers) for r in worker_rooms(w) if r == room]


async def test_speaker_on_one_node_captioned_once_for_listener_on_the_other(
    cluster: Cluster, workers: tuple[AgentWorker, ...], eval_dir: Path
) -> None:
    node_a, node_b = cluster.nodes
    room = "multinode-call"
    speaker = Speaker(await connect(node_a, room, "alice", dispatch_agent=True))
    listener = Listener(await connect(node_b, room, "lena", subscribe=False))
    listener.start()
    await listener.wait_agent()
    await speaker.publish()
    await speaker.wait_subscribed()

    utterances, cut = load_reference(eval_dir, "allison-a", SPEECH_SECONDS)
    audio = read_wav(eval_dir / "allison-a.wav")[: int(cut * SAMPLE_RATE)]
    t0 = time.monotonic() + 0.1
    listener.t0 = t0
    await speaker.play(audio, t0)
    await listener.wait_quiet(quiet_s=4.0, timeout_s=20.0)
    agents_in_room = await captioners(node_b, room)
    await speaker.aclose()
    await listener.aclose()

    logs = "\n".join(w.log_text()[-2000:] for w in workers)
    assert serving(workers, room) in ([0], [1]), logs  # one worker, one job
    assert len(agents_in_room) == 1, agents_in_room
    assert listener.captions, f"the listener on node B got no captions\n{logs}"
    for c in listener.captions:
        assert (c.sender, c.track_id) == ("alice", speaker.track_sid)
    check_finals_never_change(listener.captions)
    finals = sorted(listener.finals("alice"), key=lambda c: c.start)
    # a second captioner would repeat segment ids, or publish segments over the same audio
    assert len({c.segment_id for c in finals}) == len(finals), finals
    for before, after in itertools.pairwise(finals):
        assert after.start >= before.end - 0.05, f"overlapping finals: {before} / {after}"
    reference = " ".join(u.text for u in utterances)
    hypothesis = transcript(finals)
    assert word_error_rate(reference, hypothesis) <= MAX_WER, f"{reference}\n{hypothesis}"


async def test_rooms_spread_over_both_workers(
    cluster: Cluster, workers: tuple[AgentWorker, ...], artifacts_dir: Path
) -> None:
    rooms = [f"spread-{i}" for i in range(SPREAD_ROOMS)]
    members: list[Speaker] = []
    for i, room in enumerate(rooms):
        # created by a join on alternating nodes, the token dispatching the agent
        member = Speaker(
            await connect(cluster.nodes[i % 2], room, f"member-{i}", dispatch_agent=True)
        )
        members.append(member)
        # A microphone makes the room weigh on its worker's load. LiveKit places a
        # room on the node whose workers have the most spare load; with equal loads
        # (rooms nobody speaks in weigh nothing) the first node to answer wins.
        await member.publish()
        await member.wait_subscribed(30)
        await asyncio.sleep(LOAD_REPORT_S)
    missing = [
        m.room.name for m in members if protocol.AGENT_IDENTITY not in m.room.remote_participants
    ]
    await asyncio.gather(*(m.aclose() for m in members))

    split = {
        f"worker-{i}": [r for r in worker_rooms(w) if r in rooms] for i, w in enumerate(workers)
    }
    print(f"\n[cluster] rooms per worker: { {k: len(v) for k, v in split.items()} }")
    (artifacts_dir / "cluster-split.json").write_text(json.dumps(split, indent=1))
    assert not missing, f"no captioner in {missing}; split {split}"
    assert sorted(r for rs in split.values() for r in rs) == rooms  # each room exactly once
    assert all(split.values()), f"one worker got every room: {split}"
