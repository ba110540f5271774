"""Which ``roomscribe agent`` workers are alive, and which rooms each captions.

Every worker joins :data:`~roomscribe.protocol.WORKERS_ROOM` on the LiveKit
server as ``roomscribe-worker-<id>`` and renews two attributes there every
second: its heartbeat and the rooms it captions. The other workers receive
these updates (pushed by LiveKit, nothing polled), so:

* a worker killed with ``-9`` (which LiveKit keeps listing for ~20 s) is known
  dead once its beats stop for ``missing_s``, and its rooms are healed at once
  without anyone looking at every room (:meth:`WorkerRoster.orphans`);
* a room a live worker captions needs no look at all
  (:meth:`WorkerRoster.claimed`), and each remaining room is looked at by one
  worker only: its owner by rendezvous hashing over the live workers
  (:meth:`WorkerRoster.owns`).

The beats go to the few workers in that room, not to the people in the
caption rooms. While this worker is not connected to the room (a server
restart), it knows no peer: it owns every room and trusts no claim, which is
the behaviour of a lone worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from livekit import api, rtc

from roomscribe import protocol
from roomscribe.settings.livekit import LiveKitSettings

log = logging.getLogger(__name__)

IDENTITY_PREFIX = "roomscribe-worker-"


@dataclass(frozen=True, slots=True)
class RosterOptions:
    beat_s: float = 1.0
    """How often a worker renews its attributes in the workers' room."""
    missing_s: float = 4.0
    """A worker whose beats stopped this long (this worker's clock) is dead."""
    retry_s: float = 2.0
    """Pause before joining the workers' room again after losing it."""


@dataclass(slots=True)
class _Peer:
    seen: float
    """When this worker last received one of its beats."""
    rooms: frozenset[str]


def _rooms(value: str) -> frozenset[str]:
    return frozenset(r for r in value.split(",") if r)


class WorkerRoster:
    """This worker's membership in the workers' room; ``start()`` / ``aclose()``.

    ``rooms()``: the rooms this worker captions right now (read at every beat).
    """

    def __init__(
        self,
        settings: LiveKitSettings,
        rooms: Callable[[], frozenset[str]],
        options: RosterOptions | None = None,
    ) -> None:
        self._settings = settings
        self._rooms = rooms
        self._opts = options or RosterOptions()
        self.worker_id = secrets.token_hex(4)
        self._peers: dict[str, _Peer] = {}
        self._room: rtc.Room | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def identity(self) -> str:
        return IDENTITY_PREFIX + self.worker_id

    @property
    def missing_s(self) -> float:
        return self._opts.missing_s

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="worker-roster")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    # -- what the healer asks ----------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._room is not None and self._room.isconnected()

    def live_workers(self, now: float | None = None) -> list[str]:
        """This worker and every peer that beat within ``missing_s``."""
        now = time.monotonic() if now is None else now
        if not self.connected:
            return [self.identity]
        alive = [i for i, p in self._peers.items() if now - p.seen < self._opts.missing_s]
        return sorted([self.identity, *alive])

    def claimed(self, room: str) -> bool:
        """A live peer says it captions ``room``."""
        now = time.monotonic()
        if not self.connected:
            return False
        return any(
            room in p.rooms and now - p.seen < self._opts.missing_s for p in self._peers.values()
        )

    def captioned(self) -> frozenset[str]:
        """The rooms this worker and its live peers caption."""
        now = time.monotonic()
        peers = [p.rooms for p in self._peers.values() if now - p.seen < self._opts.missing_s]
        return self._rooms().union(*peers) if self.connected else self._rooms()

    def owns(self, room: str) -> bool:
        """This worker is the one live worker that looks after ``room`` (rendezvous hash)."""
        workers = self.live_workers()
        return max(workers, key=lambda w: _score(w, room)) == self.identity

    def orphans(self) -> dict[str, set[str]]:
        """Dead peers (beats stopped ``missing_s`` ago, still listed) and their rooms.

        The peer is forgotten once reported: its rooms are healed once. A peer
        listed when this worker joined may have died long before (LiveKit lists a
        killed participant ~20 s) and its rooms be healed already: the healer checks
        whose captioner a room has before healing it.
        """
        now = time.monotonic()
        dead = {
            identity: set(peer.rooms)
            for identity, peer in self._peers.items()
            if now - peer.seen >= self._opts.missing_s
        }
        for identity in dead:
            del self._peers[identity]
        return dead

    # -- the room ----------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self._serve()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the server is down or restarting
                log.info("not in the workers' room (%s); trying again", e)
            await asyncio.sleep(self._opts.retry_s)

    async def _serve(self) -> None:
        room = rtc.Room()
        room.on("participant_attributes_changed", self._on_attributes)
        room.on("participant_connected", self._on_joined)
        room.on("participant_disconnected", self._on_left)
        await room.connect(self._settings.url, self._token(), rtc.RoomOptions(auto_subscribe=False))
        self._room = room
        self._peers.clear()
        for participant in room.remote_participants.values():
            self._on_joined(participant)
        try:
            while room.isconnected():
                rooms = ",".join(sorted(self._rooms()))
                update = room.local_participant.set_attributes(
                    {protocol.ATTR_HEARTBEAT: f"{time.time():.1f}", protocol.ATTR_ROOMS: rooms}
                )
                with contextlib.suppress(TimeoutError):  # the next beat sends a fresh value
                    await asyncio.wait_for(update, self._opts.beat_s * 2)
                await asyncio.sleep(self._opts.beat_s)
        finally:
            self._room = None
            await room.disconnect()

    def _token(self) -> str:
        s = self._settings
        grants = api.VideoGrants(
            room_join=True,
            room=protocol.WORKERS_ROOM,
            can_subscribe=False,
            can_publish=False,
            can_publish_data=False,
            can_update_own_metadata=True,
        )
        return (
            api.AccessToken(s.api_key, s.api_secret)
            .with_identity(self.identity)
            .with_kind("agent")
            .with_grants(grants)
            .to_jwt()
        )

    def _on_joined(self, participant: rtc.Participant) -> None:
        if participant.identity.startswith(IDENTITY_PREFIX):
            rooms = _rooms(participant.attributes.get(protocol.ATTR_ROOMS, ""))
            self._peers[participant.identity] = _Peer(time.monotonic(), rooms)

    def _on_left(self, participant: rtc.RemoteParticipant) -> None:
        # a worker that leaves on its own has drained and handed its rooms over
        self._peers.pop(participant.identity, None)

    def _on_attributes(self, changed: dict[str, str], participant: rtc.Participant) -> None:
        if protocol.ATTR_HEARTBEAT not in changed:
            return
        if participant.identity not in self._peers:
            # new, or reported dead and beating again (it was only late)
            self._on_joined(participant)
            return
        peer = self._peers[participant.identity]
        peer.seen = time.monotonic()
        peer.rooms = _rooms(participant.attributes.get(protocol.ATTR_ROOMS, ""))


def _score(worker: str, room: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{worker}/{room}".encode()).digest()[:8], "big")
