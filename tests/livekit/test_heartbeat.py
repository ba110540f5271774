"""The captioner's heartbeat keeps beating when the server is slow to acknowledge one."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from roomscribe import protocol
from roomscribe.livekit.worker import _heartbeat


class FakeParticipant:
    def __init__(self, unanswered: set[int]) -> None:
        self.unanswered = unanswered
        """Beats (1-based) whose update the server never acknowledges."""
        self.beats: list[tuple[float, str]] = []
        self.sixth_beat = asyncio.Event()

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        self.beats.append((time.monotonic(), attributes[protocol.ATTR_HEARTBEAT]))
        if len(self.beats) >= 6:
            self.sixth_beat.set()
        if len(self.beats) in self.unanswered:
            await asyncio.Event().wait()


class FakeRoom:
    name = "room"

    def __init__(self, participant: FakeParticipant) -> None:
        self.local_participant = participant

    def isconnected(self) -> bool:
        return True


async def test_an_unacknowledged_beat_does_not_hold_up_the_next() -> None:
    participant = FakeParticipant(unanswered={2, 3})
    room: Any = FakeRoom(participant)
    beating = asyncio.create_task(_heartbeat(room, every_s=0.05, ack_wait_s=0.2))
    try:
        # beats 2 and 3 are never answered: waiting for them would stop the beats
        await asyncio.wait_for(participant.sixth_beat.wait(), 10)
    finally:
        beating.cancel()
    # each beat left on time: an unanswered one held the next back by at most the
    # acknowledgement wait (awaiting the update, beat 3 would never have gone out)
    times = [t for t, _ in participant.beats]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap <= 0.05 + 0.2 + 0.15 for gap in gaps), gaps
    assert max(gaps[1:3]) >= 0.2 - 0.02, gaps  # the unanswered beats were waited for
    # every beat carries a fresh wall-clock value for the healers to compare
    values = [float(value) for _, value in participant.beats]
    assert all(abs(v - time.time()) < 10 for v in values), values
