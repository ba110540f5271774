"""The dispatch healer's decisions, against a fake server API (no livekit-server)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from livekit import api

from roomscribe import protocol
from roomscribe.livekit.healer import DispatchHealer, HealerOptions
from roomscribe.settings.livekit import LiveKitSettings


@dataclass
class FakeServer:
    """The calls the healer makes, answered from a table of rooms."""

    participants: dict[str, list[api.ParticipantInfo]]
    dispatches: dict[str, list[api.AgentDispatch]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    # api.LiveKitAPI's services, flattened: the healer reaches them as .room / .agent_dispatch
    @property
    def room(self) -> FakeServer:
        return self

    @property
    def agent_dispatch(self) -> FakeServer:
        return self

    async def list_rooms(self, _: Any) -> api.ListRoomsResponse:
        self.calls.append(("list_rooms", ""))
        return api.ListRoomsResponse(rooms=[api.Room(name=n) for n in self.participants])

    async def list_participants(self, req: api.ListParticipantsRequest) -> Any:
        self.calls.append(("list_participants", req.room))
        return api.ListParticipantsResponse(participants=self.participants[req.room])

    async def list_dispatch(self, room: str) -> list[api.AgentDispatch]:
        self.calls.append(("list_dispatch", room))
        return self.dispatches.get(room, [])

    async def delete_dispatch(self, dispatch_id: str, room: str) -> None:
        self.calls.append(("delete_dispatch", room))
        self.dispatches[room] = [d for d in self.dispatches[room] if d.id != dispatch_id]

    async def remove_participant(self, req: api.RoomParticipantIdentity) -> None:
        self.calls.append(("remove_participant", req.room))
        self.participants[req.room] = [
            p for p in self.participants[req.room] if p.identity != req.identity
        ]

    async def create_dispatch(self, req: api.CreateAgentDispatchRequest) -> None:
        self.calls.append(("create_dispatch", req.room))


def speaker() -> api.ParticipantInfo:
    mic = api.TrackInfo(type=api.TrackType.AUDIO, source=api.TrackSource.MICROPHONE)
    return api.ParticipantInfo(identity="ada", sid="PA_ada", tracks=[mic])


def captioner(heartbeat: str) -> api.ParticipantInfo:
    return api.ParticipantInfo(
        identity=protocol.AGENT_IDENTITY,
        sid="PA_cap",
        kind=api.ParticipantInfo.Kind.AGENT,
        attributes={protocol.ATTR_HEARTBEAT: heartbeat},
    )


def healer(server: FakeServer, serving: set[str]) -> DispatchHealer:
    # every captioner counts as silent long enough at once: the decisions, not the clock
    options = HealerOptions(missing_s=0.0, join_grace_s=0.0, grace_s=0.0)
    h = DispatchHealer(LiveKitSettings(), options, serving=serving.__contains__)
    h._client = server  # type: ignore[assignment]
    return h


async def test_a_silent_captioner_is_replaced_but_never_in_a_room_this_worker_serves() -> None:
    dispatch = api.AgentDispatch(id="AD_1", agent_name=protocol.AGENT_NAME)
    server = FakeServer(
        participants={"mine": [speaker(), captioner("1")], "orphan": [speaker(), captioner("1")]},
        dispatches={"mine": [dispatch], "orphan": [dispatch]},
    )
    assert await healer(server, serving={"mine"}).check() == ["orphan"]
    # the served room was not even looked into: one API call less per room and pass
    assert [c for c in server.calls if c[1] == "mine"] == []
    assert ("delete_dispatch", "orphan") in server.calls
    assert ("remove_participant", "orphan") in server.calls
    assert server.calls[-1] == ("create_dispatch", "orphan")


async def test_a_room_without_audio_is_left_alone() -> None:
    dispatch = api.AgentDispatch(id="AD_1", agent_name=protocol.AGENT_NAME)
    listener = api.ParticipantInfo(identity="bob", sid="PA_bob")
    server = FakeServer(
        participants={"quiet": [listener, captioner("1")]}, dispatches={"quiet": [dispatch]}
    )
    assert await healer(server, serving=set()).check() == []
    assert not any(c[0] in ("delete_dispatch", "create_dispatch") for c in server.calls)


class FakeRoster:
    """Workers ``me`` and ``peer``; ``peer`` captions ``theirs`` and owns ``peers-own``."""

    missing_s = 4.0

    def claimed(self, room: str) -> bool:
        return room == "theirs"

    def owns(self, room: str) -> bool:
        return room != "peers-own"

    def orphans(self) -> dict[str, set[str]]:
        return {}

    def captioned(self) -> frozenset[str]:
        return frozenset({"theirs"})


async def test_a_sweep_looks_only_into_unclaimed_rooms_it_owns() -> None:
    """What keeps healing cheap: rooms a live worker captions, or another worker owns,
    cost no API call beyond the one ListRooms."""
    dispatch = api.AgentDispatch(id="AD_1", agent_name=protocol.AGENT_NAME)
    rooms = ("theirs", "peers-own", "orphan", protocol.WORKERS_ROOM)
    server = FakeServer(
        participants={r: [speaker(), captioner("1")] for r in rooms},
        dispatches={r: [dispatch] for r in rooms},
    )
    h = healer(server, serving=set())
    h._roster = FakeRoster()  # type: ignore[assignment]
    assert await h.check() == ["orphan"]
    assert {room for _, room in server.calls} == {"", "orphan"}
