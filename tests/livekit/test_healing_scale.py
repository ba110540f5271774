"""What healing costs at scale: 50 captioned rooms, 3 workers, steady state.

Real livekit-server and three real ``roomscribe agent --model tiny.en`` workers;
50 rooms, each with a listener whose token dispatches the agent. Once every room
has its captioner, a 30 s window measures, from the outside:

* the LiveKit API calls the workers make, counted in livekit-server's own log
  (it logs every API call: ``API RoomService.ListParticipants``, ...), per second;
* the captioners' heartbeat updates, counted by the listeners (the attribute
  changes they receive), per room and second.

Printed and written to ``artifacts/livekit-healing-scale.json``: measurements,
not assertions (``soak``: it takes about two minutes).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from livekit import rtc

from roomscribe import protocol
from tests.fixtures.livekit import running_agents, running_livekit_server
from tests.livekit.participants import connect, poll_until

pytestmark = [pytest.mark.livekit, pytest.mark.soak]

ROOMS = 50
WORKERS = 3
WINDOW_S = 30.0
_API_CALL = re.compile(r"^(\S+)\s+\S+\s+livekit\.api\s+\S+\s+API (\S+)\s")


def api_calls(log: str, start: float, end: float) -> Counter[str]:
    """LiveKit API calls (``RoomService.ListRooms``, ...) the server logged in ``[start, end)``."""
    calls: Counter[str] = Counter()
    for line in log.splitlines():
        m = _API_CALL.match(line)
        if m is None:
            continue
        at = datetime.fromisoformat(m[1].replace("Z", "+00:00")).timestamp()
        if start <= at < end:
            calls[m[2]] += 1
    return calls


async def test_healing_cost_at_fifty_rooms_and_three_workers(
    tmp_path: Path, artifacts_dir: Path
) -> None:
    logs = [tmp_path / f"worker-{i}.log" for i in range(WORKERS)]
    beats: Counter[str] = Counter()
    listeners: list[rtc.Room] = []

    def counter(room: str) -> object:
        def on_changed(changed: dict[str, str], participant: rtc.Participant) -> None:
            if (
                participant.identity == protocol.AGENT_IDENTITY
                and protocol.ATTR_HEARTBEAT in changed
            ):
                beats[room] += 1

        return on_changed

    with running_livekit_server(tmp_path) as server, running_agents(server, logs):
        try:
            for i in range(ROOMS):
                name = f"scale-{i}"
                room = await connect(server, name, "listener", dispatch_agent=True, subscribe=False)
                room.on("participant_attributes_changed", counter(name))
                listeners.append(room)
            captioned = lambda: all(  # noqa: E731
                protocol.AGENT_IDENTITY in r.remote_participants for r in listeners
            )
            assert await poll_until(captioned, 180), "not every room got its captioner"
            await asyncio.sleep(10)  # steady state: joins and first passes done
            beats.clear()
            start = time.time()
            await asyncio.sleep(WINDOW_S)
            end = time.time()
            beat_counts = dict(beats)
        finally:
            for room in listeners:
                await room.disconnect()
        calls = api_calls((tmp_path / "livekit-server.log").read_text(), start, end)
    seconds = end - start
    summary = {
        "rooms": ROOMS,
        "workers": WORKERS,
        "window_s": round(seconds, 1),
        "api_calls_per_s": round(sum(calls.values()) / seconds, 2),
        "api_calls_per_room_per_5s": round(sum(calls.values()) / seconds * 5 / ROOMS, 3),
        "api_calls_by_method": dict(calls),
        "heartbeats_per_room_per_5s": round(sum(beat_counts.values()) / ROOMS / seconds * 5, 2),
    }
    print(f"\n[healing scale] {json.dumps(summary)}")
    (artifacts_dir / "livekit-healing-scale.json").write_text(json.dumps(summary, indent=1))
    assert sum(calls.values()) > 0 or sum(beat_counts.values()) > 0  # the window saw the workers
