"""A room where someone keeps talking and a listener collects the captions.

For the failure tests (healing, drain, server restart): the listener's token
dispatches the agent, the speaker replays a recording in real time in the
background, and every arrival of a captioner is recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc
from numpy.typing import NDArray

from roomscribe import protocol
from tests.fixtures.livekit import LiveKitServer
from tests.livekit.participants import Listener, Received, Speaker, connect, poll_until


@dataclass
class TalkingRoom:
    listener: Listener
    speaker: Speaker
    captioner_joins: list[tuple[float, str]] = field(default_factory=list)
    """Listener time (seconds since the audio started) and participant sid of every
    captioner that joined."""
    captioner_leaves: list[tuple[float, str]] = field(default_factory=list)
    """The same for every captioner that left (as the listener's room sees it)."""

    def now(self) -> float:
        """The listener's clock: seconds since the audio started."""
        return time.monotonic() - self.listener.t0

    def captions_after(self, t: float) -> list[Received]:
        return [c for c in self.listener.captions if c.t > t]

    async def wait_captions_after(self, t: float, timeout_s: float) -> Received | None:
        """The first caption received after listener time ``t``, if one comes in time."""
        await poll_until(lambda: bool(self.captions_after(t)), timeout_s)
        after = self.captions_after(t)
        return after[0] if after else None

    def captioner_sid(self) -> str:
        """The participant sid of the captioner the listener sees now ("" if none)."""
        captioner = self.listener.room.remote_participants.get(protocol.AGENT_IDENTITY)
        return captioner.sid if captioner is not None else ""

    def joined_after(self, t: float, sid: str) -> float | None:
        """When the first captioner other than ``sid`` joined after time ``t``, if one did."""
        times = [at for at, s in self.captioner_joins if at > t and s != sid]
        return times[0] if times else None

    def left(self, sid: str) -> float | None:
        """When the captioner ``sid`` left, if it did."""
        times = [at for at, s in self.captioner_leaves if s == sid]
        return times[0] if times else None

    def _on_participant(self, participant: rtc.RemoteParticipant) -> None:
        if participant.identity == protocol.AGENT_IDENTITY:
            self.captioner_joins.append((self.now(), participant.sid))

    def _on_departure(self, participant: rtc.RemoteParticipant) -> None:
        if participant.identity == protocol.AGENT_IDENTITY:
            self.captioner_leaves.append((self.now(), participant.sid))


@asynccontextmanager
async def talking_room(
    server: LiveKitServer,
    room: str,
    audio: NDArray[np.float32],
    *,
    dispatch: bool = True,
    agent_timeout_s: float = 30,
) -> AsyncIterator[TalkingRoom]:
    """Listener and speaker in ``room``; ``audio`` plays from when the captioner listens.

    With ``dispatch`` the listener's token dispatches the agent when it creates the room.
    """
    listener = Listener(
        await connect(server, room, "listener", dispatch_agent=dispatch, subscribe=False)
    )
    scene = TalkingRoom(listener, Speaker(await connect(server, room, "talker")))
    listener.room.on("participant_connected", scene._on_participant)
    listener.room.on("participant_disconnected", scene._on_departure)
    listener.start()
    await scene.speaker.publish()
    await listener.wait_agent(agent_timeout_s)
    await scene.speaker.wait_subscribed()
    t0 = time.monotonic() + 0.1
    listener.t0 = t0
    scene.captioner_joins.append((0.0, scene.captioner_sid()))
    playing = asyncio.create_task(scene.speaker.play(audio, t0))
    try:
        yield scene
    finally:
        playing.cancel()
        await asyncio.gather(playing, return_exceptions=True)
        await scene.speaker.aclose()
        await listener.aclose()
