"""Give rooms whose captioner died a new one, without anyone joining.

A self-hosted livekit-server never re-dispatches a job whose worker died: the
dispatch stays "running" and the people in the room get no more captions. Worse,
the dead captioner stays listed in the room for about 20 s, until the server's
peer connection times out. So every ``roomscribe agent`` worker runs a
:class:`DispatchHealer`, in two parts:

* Workers watch each other (:class:`~roomscribe.livekit.roster.WorkerRoster`):
  each beats once a second in a LiveKit room of their own, listing the rooms it
  captions. When a worker's beats stop for ``missing_s`` (killed, partitioned),
  each of its rooms that has someone publishing audio gets its dispatches
  deleted, the dead captioner removed and a new dispatch created, by one live
  worker (the room's owner by rendezvous hash). No room is polled for that.
* Every ``sweep_s`` each worker lists the rooms (one call) and looks into
  those that no live worker claims and that it owns: a room that has someone
  publishing audio and a roomscribe dispatch, but whose captioner is gone or
  has not renewed its heartbeat (every :data:`HEARTBEAT_S`) for
  ``sweep_missing_s`` (as seen by this healer's own clock, so the workers'
  clocks need not agree), is healed the same way. That is a worker older than
  the roster, a job that died in a live worker, a dispatch nobody took. A room
  with no captioner at all whose dispatch is younger than ``grace_s`` is left
  alone: its agent may still be joining.

At steady state (every room captioned by a live worker) the healing costs one
ListRooms per worker and ``sweep_s``, whatever the number of rooms.

Rooms with audio and *no* roomscribe dispatch are left alone: nobody asked for
captions there (a deployment minting its own tokens without the room
configuration), and captioning them anyway would be a surprise. With one
exception: a room this healer saw captioned within ``remember_s`` that comes
back without a dispatch. That is what a livekit-server restart does (rooms and
dispatches live in its memory; people reconnect with their old tokens, which
rarely carry the dispatch), so such a room is dispatched again.

Several workers heal at once without doubling the captioner: one owner per
room, the room is looked at again right before healing, and deleting the dead
dispatch is the claim (only one worker's delete succeeds; the others get
``not_found`` and back off). Should two dispatches still race, a worker refuses
a job for a room that already has the captioner.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from livekit import api

from roomscribe import metrics, protocol
from roomscribe.livekit.roster import WorkerRoster
from roomscribe.settings.livekit import LiveKitSettings

log = logging.getLogger(__name__)

_CAPTIONED_SOURCES = (api.TrackSource.MICROPHONE, api.TrackSource.SCREEN_SHARE_AUDIO)

HEARTBEAT_S = 5.0
"""How often a captioner renews its heartbeat attribute (LiveKit broadcasts each
update to everyone in the room, so not often; workers see each other die through
the roster, not through this)."""

_CREATE_ATTEMPTS = 3
_CREATE_RETRY_S = 0.5


@dataclass(frozen=True, slots=True)
class HealerOptions:
    interval_s: float = 1.0
    """Time between two looks at the roster for dead workers (no API call unless
    one died), each one jittered by ±25 %."""
    sweep_s: float = 5.0
    """Time between two passes over the rooms: one ListRooms, plus a look into each
    room no live worker claims and this worker owns."""
    absent_s: float = 4.0
    """How long an unclaimed room's captioner may be absent (not listed) before the
    room is healed by a sweep."""
    missing_s: float = 12.0
    """How long an unclaimed room's captioner may be absent or silent before the room
    is healed by a sweep: more than two :data:`HEARTBEAT_S` (a beat can be late by
    seconds on a loaded machine, and healing a live captioner loses its open
    sentences)."""
    grace_s: float = 8.0
    """A dispatch younger than this may still be starting its agent (a captioner
    that heartbeats, then falls silent, needs no grace)."""
    join_grace_s: float = 4.0
    """A captioner first seen this recently is not healed yet: its first seconds
    (subscribing, opening streams) may delay a heartbeat. A captioner without any
    heartbeat attribute counts as alive regardless (see ``_sign_of_life``)."""
    remember_s: float = 600.0
    """A room seen captioned this recently gets its dispatch back if it loses it."""


@dataclass(frozen=True, slots=True)
class RoomState:
    """What the healer needs to know about one room, read from the server API."""

    room: str
    dispatch_ids: frozenset[str]
    """The room's roomscribe dispatches."""
    newest_dispatch_age_s: float
    captioner: str | None
    """The captioner's sign of life: its participant sid and heartbeat, ``None`` if absent."""
    has_audio: bool
    """Some non-agent participant publishes a microphone or tab-audio track."""
    captioner_worker: str | None = None
    """The roster identity of the captioner's worker (:data:`~roomscribe.protocol.ATTR_WORKER`)."""


def publishes_audio(participant: api.ParticipantInfo) -> bool:
    """A person (not an agent) with a track the captioner would caption."""
    if participant.kind == api.ParticipantInfo.Kind.AGENT:
        return False
    if participant.identity == protocol.AGENT_IDENTITY:
        return False
    return any(
        t.type == api.TrackType.AUDIO
        and (t.source in _CAPTIONED_SOURCES or t.name == protocol.TAB_AUDIO_TRACK_NAME)
        for t in participant.tracks
    )


def _sign_of_life(participant: api.ParticipantInfo) -> str:
    heartbeat = participant.attributes.get(protocol.ATTR_HEARTBEAT)
    if heartbeat is None:
        # A captioner without heartbeats (an older worker) cannot be told dead
        # from alive: a fresh value every time keeps it alive.
        heartbeat = str(time.monotonic())
    return f"{participant.sid}/{heartbeat}"


def _captioner(people: list[api.ParticipantInfo]) -> api.ParticipantInfo | None:
    return next((p for p in people if p.identity == protocol.AGENT_IDENTITY), None)


@dataclass(slots=True)
class _Watch:
    sign: str | None
    since: float
    """When this healer first saw ``sign``."""
    sid: str | None = None
    sid_since: float = 0.0
    """When this healer first saw the captioner participant ``sid``."""


class DispatchHealer:
    """Re-dispatches the captioner to orphaned rooms; ``start()`` / ``aclose()``."""

    def __init__(
        self,
        settings: LiveKitSettings,
        options: HealerOptions | None = None,
        *,
        serving: Callable[[str], bool] | None = None,
        roster: WorkerRoster | None = None,
    ) -> None:
        """``serving(room)``: this process captions ``room`` with a live job. Such a room
        is never healed by this healer: its own worker knows the captioner is alive
        even when a CPU-starved event loop delays the heartbeat. Without ``roster``
        this healer sweeps every room itself, and only sweeps."""
        self._settings = settings
        self._opts = options or HealerOptions()
        self._serving = serving or (lambda room: False)
        self._roster = roster
        self._last_pass = time.monotonic()
        self._last_sweep = 0.0
        self._client: api.LiveKitAPI | None = None
        self._task: asyncio.Task[None] | None = None
        self._watches: dict[str, _Watch] = {}
        self._captioned: dict[str, float] = {}
        """Room name -> when this healer last saw a captioner in it."""
        self._failing = False
        self.heals = 0
        """Rooms this healer re-dispatched."""

    async def start(self) -> None:
        s = self._settings
        self._client = api.LiveKitAPI(s.url, s.api_key, s.api_secret)
        self._task = asyncio.create_task(self._run(), name="dispatch-healer")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            # jitter: workers started together must not look at the rooms in lockstep
            pause = self._opts.interval_s * random.uniform(0.75, 1.25)
            await asyncio.sleep(pause)
            lag = time.monotonic() - self._last_pass - pause
            self._last_pass = time.monotonic()
            if lag > self._opts.interval_s:
                # This process was starved (its loop woke up late): a heartbeat that
                # looks stale may be the machine's fault, not a dead captioner's:
                # silences are counted again from now (who the captioners are is kept).
                now = time.monotonic()
                for watch in self._watches.values():
                    watch.since = now
                continue
            try:
                await self.heal_orphans()
                if time.monotonic() - self._last_sweep >= self._opts.sweep_s:
                    self._last_sweep = time.monotonic()
                    await self.check()
            except (api.TwirpError, aiohttp.ClientError, TimeoutError) as e:
                if not self._failing:  # once per outage, not every pass
                    log.warning("cannot check the rooms for a missing captioner: %s", e)
                self._failing = True
                continue
            except Exception:
                log.exception("checking the rooms for a missing captioner failed")
            if self._failing:
                log.info("checking the rooms for a missing captioner again")
                self._failing = False

    async def heal_orphans(self) -> list[str]:
        """Heal the rooms of workers whose roster beats stopped; returns those re-dispatched."""
        if self._roster is None:
            return []
        now = time.monotonic()
        for room in self._roster.captioned():  # for _restore, however short-lived
            self._captioned[room] = now
        healed = []
        for worker, rooms in self._roster.orphans().items():
            log.warning("worker %s stopped beating; its room(s): %s", worker, sorted(rooms))
            for room in sorted(rooms):
                if self._serving(room) or not self._roster.owns(room):
                    continue
                state = await self.room_state(room)
                if not state.has_audio or not state.dispatch_ids:
                    continue  # nobody to caption, or no dispatch: the sweeps' case
                if state.captioner is not None and state.captioner_worker != worker:
                    continue  # healed already: that captioner is another worker's
                if state.captioner is None and state.newest_dispatch_age_s < self._opts.grace_s:
                    continue  # healed or handed over already: its new captioner is joining
                if await self._redispatch(state, remove_captioner=state.captioner is not None):
                    self._healed(room, self._roster_missing_s())
                    healed.append(room)
        return healed

    def _roster_missing_s(self) -> float:
        return self._roster.missing_s if self._roster is not None else 0.0

    async def check(self) -> list[str]:
        """One pass over the rooms; returns the rooms re-dispatched."""
        rooms = (await self._api().room.list_rooms(api.ListRoomsRequest())).rooms
        # every room: the publisher counts in this list lag by seconds
        live = {r.name for r in rooms}
        for name in self._watches.keys() - live:
            del self._watches[name]
        now = time.monotonic()
        for name, seen in list(self._captioned.items()):
            if now - seen > self._opts.remember_s:
                del self._captioned[name]
        healed = []
        for name in sorted(live - {protocol.WORKERS_ROOM}):
            claimed = self._roster is not None and self._roster.claimed(name)
            if self._serving(name) or claimed:
                # never healed by a sweep, so not looked into: no API call for a
                # room a live worker captions
                self._captioned[name] = now
                self._watches.pop(name, None)
                continue
            if self._roster is not None and not self._roster.owns(name):
                self._watches.pop(name, None)  # another live worker looks after it
                continue
            captioner, has_audio = await self._people(name)
            now = time.monotonic()
            if captioner is not None:
                self._captioned[name] = now
            silent_s = self._silent_for(name, captioner, now)
            limit = self._opts.missing_s if captioner is not None else self._opts.absent_s
            if not has_audio or silent_s < limit or self._serving(name):
                continue
            state = await self.room_state(name)  # only now: one API call per room and pass
            if state.dispatch_ids:
                joining = (
                    state.captioner is None and state.newest_dispatch_age_s < self._opts.grace_s
                )
                if not joining and await self._heal(state, silent_s):
                    healed.append(name)
            elif name in self._captioned and await self._restore(state):
                healed.append(name)
        return healed

    def _silent_for(self, room: str, captioner: str | None, now: float) -> float:
        """How long the room's captioner has shown no sign of life to this healer."""
        watch = self._watches.get(room)
        if watch is None or watch.sign != captioner:
            sid = captioner.split("/", 1)[0] if captioner is not None else None
            same = watch is not None and watch.sid == sid
            sid_since = watch.sid_since if watch is not None and same else now
            watch = self._watches[room] = _Watch(captioner, now, sid, sid_since)
        if captioner is not None and now - watch.sid_since < self._opts.join_grace_s:
            return 0.0  # it just joined: its first heartbeat may not be out yet
        return now - watch.since

    async def room_state(self, room: str) -> RoomState:
        dispatches = [
            d
            for d in await self._api().agent_dispatch.list_dispatch(room)
            if d.agent_name == protocol.AGENT_NAME
        ]
        newest_ns = max((d.state.created_at for d in dispatches), default=0)
        people = await self._list_people(room)
        captioner = _captioner(people)
        return RoomState(
            room=room,
            dispatch_ids=frozenset(d.id for d in dispatches),
            newest_dispatch_age_s=time.time() - newest_ns / 1e9,
            captioner=_sign_of_life(captioner) if captioner is not None else None,
            has_audio=any(publishes_audio(p) for p in people),
            captioner_worker=captioner.attributes.get(protocol.ATTR_WORKER)
            if captioner is not None
            else None,
        )

    async def _list_people(self, room: str) -> list[api.ParticipantInfo]:
        req = api.ListParticipantsRequest(room=room)
        return list((await self._api().room.list_participants(req)).participants)

    async def has_captioner(self, room: str) -> bool:
        """Whether a captioner is in ``room`` now (``False`` if the server cannot say)."""
        try:
            return _captioner(await self._list_people(room)) is not None
        except (api.TwirpError, aiohttp.ClientError, TimeoutError) as e:
            log.warning("cannot list the participants of %s: %s", room, e)
            return False

    async def _people(self, room: str) -> tuple[str | None, bool]:
        """The captioner's sign of life (``None`` if absent), and whether anyone speaks."""
        people = await self._list_people(room)
        captioner = _captioner(people)
        sign = _sign_of_life(captioner) if captioner is not None else None
        return sign, any(publishes_audio(p) for p in people)

    async def hand_over(self, room: str, *, remove_captioner: bool = False) -> None:
        """Re-dispatch a room this worker has left (or, with ``remove_captioner``, is
        leaving), so another worker takes it now.

        Used by a draining worker and by one whose engine failed: without it the
        room would wait for a healer to notice the missing captioner.
        """
        try:
            state = await self.room_state(room)
            if not state.has_audio:
                return  # nobody to caption; a later speaker is the healer's
            remove = remove_captioner and state.captioner is not None
            if await self._redispatch(state, remove_captioner=remove):
                log.info("handed room %s over to another worker", room)
        except (api.TwirpError, aiohttp.ClientError, TimeoutError) as e:
            log.warning("cannot hand room %s over: %s", room, e)

    async def _heal(self, seen: RoomState, silent_s: float) -> bool:
        # Another worker may have healed the room (or the captioner spoken up)
        # since this pass looked at it.
        now = await self.room_state(seen.room)
        if now.captioner != seen.captioner or now.dispatch_ids != seen.dispatch_ids:
            return False
        if not await self._redispatch(now, remove_captioner=now.captioner is not None):
            return False
        self._healed(seen.room, silent_s)
        return True

    def _healed(self, room: str, silent_s: float) -> None:
        self._watches.pop(room, None)
        self.heals += 1
        metrics.DISPATCH_HEALS.inc()
        log.warning("room %s had no captioner for %.1f s; re-dispatched", room, silent_s)

    async def _restore(self, seen: RoomState) -> bool:
        """Dispatch a room that was captioned before and came back without a dispatch."""
        now = await self.room_state(seen.room)
        if now.dispatch_ids or now.captioner is not None:
            return False  # another worker was faster
        await self._create_dispatch(seen.room)
        self._watches.pop(seen.room, None)
        self.heals += 1
        metrics.DISPATCH_HEALS.inc()
        log.warning(
            "room %s was captioned before but has no dispatch now (a server restart?); "
            "dispatched again",
            seen.room,
        )
        return True

    async def _redispatch(self, state: RoomState, *, remove_captioner: bool) -> bool:
        """Replace the room's dispatches; ``False`` if another worker is doing it."""
        client = self._api()
        for dispatch_id in state.dispatch_ids:
            try:
                await client.agent_dispatch.delete_dispatch(dispatch_id, state.room)
            except api.TwirpError as e:
                if e.code == api.TwirpErrorCode.NOT_FOUND:
                    return False  # another worker claimed this room first
                raise
        if remove_captioner:
            # The dead captioner would stay for ~20 s, and a worker refuses a room
            # that has one.
            try:
                await client.room.remove_participant(
                    api.RoomParticipantIdentity(room=state.room, identity=protocol.AGENT_IDENTITY)
                )
            except api.TwirpError as e:
                if e.code != api.TwirpErrorCode.NOT_FOUND:
                    raise
        await self._create_dispatch(state.room)
        return True

    async def _create_dispatch(self, room: str) -> None:
        """Create the room's dispatch, retrying a few times: the old one is deleted
        already, and a server busy enough to refuse once ("could not find any
        available nodes") usually takes it a moment later. Should every try fail,
        the room is restored by a later pass (it has no dispatch, and was captioned)."""
        request = api.CreateAgentDispatchRequest(agent_name=protocol.AGENT_NAME, room=room)
        for attempt in range(_CREATE_ATTEMPTS):
            try:
                await self._api().agent_dispatch.create_dispatch(request)
                return
            except (api.TwirpError, aiohttp.ClientError, TimeoutError) as e:
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
                log.info("dispatching room %s failed (%s); trying again", room, e)
                await asyncio.sleep(_CREATE_RETRY_S * (attempt + 1))

    def _api(self) -> api.LiveKitAPI:
        if self._client is None:
            raise RuntimeError("DispatchHealer is not started")
        return self._client
