"""Join tokens for the web client, with the roomscribe agent dispatched to the room.

Tokens grant as little as the web client needs (:func:`mint_token`): joining
one room, subscribing, publishing a microphone or a shared tab's audio. They
grant no data publishing, so a guest cannot send ``lk.transcription`` streams;
the server chooses every identity, so nobody can take someone else's; and no
``canUpdateOwnMetadata``, so the name stays the one the server issued (a guest
could otherwise rename itself and speak under another's name in the captions
and the transcript). The spoken language is set through the server instead
(:mod:`roomscribe.server.room_members`).

A room that does not exist yet is created by the first participant's join; its
token carries a ``RoomConfiguration`` that dispatches the agent. A room that
already exists gets an explicit dispatch through the AgentDispatch API, unless
it already has one, so the agent is dispatched exactly once per room.

A dispatch outlives its agent: when a worker crashes, LiveKit keeps the job
"running" and never hands the room to another worker. The agent workers heal
such rooms themselves (:mod:`roomscribe.livekit.healer`), without anyone joining.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from livekit import api

from roomscribe import protocol
from roomscribe.server.names import InvalidNameError, validate_display_name
from roomscribe.settings.livekit import LiveKitSettings

if TYPE_CHECKING:  # it maps its errors to this module's JoinError
    from roomscribe.server.livekit_admin import LiveKitAdmin

log = logging.getLogger(__name__)

ROOM_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOKEN_TTL = timedelta(minutes=10)
"""Bounds only the first connection: LiveKit refreshes a connected participant's token."""
PUBLISH_SOURCES = ("microphone", "screen_share_audio")
"""The only track sources a web-client participant may publish."""


class JoinError(Exception):
    """A join request that cannot be served; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class JoinRequest:
    room: str
    name: str
    identity: str


@dataclass(frozen=True, slots=True)
class JoinGrant:
    token: str
    url: str
    identity: str
    room: str


def validate_join(room: str, name: str) -> JoinRequest:
    """Check a join request and choose its identity; raises :class:`JoinError` (400)."""
    room = room.strip()
    if not ROOM_PATTERN.fullmatch(room):
        raise JoinError("room must be 1-64 characters: letters, digits, '-' or '_'")
    if room == protocol.WORKERS_ROOM:  # where the workers watch each other
        raise JoinError(f"room {room!r} is reserved")
    try:
        name = validate_display_name(name)
    except InvalidNameError as e:
        raise JoinError(str(e)) from e
    return JoinRequest(room=room, name=name, identity=_identity_for(name))


def _identity_for(name: str) -> str:
    # The random part keeps two people of the same name (or two tabs) apart and
    # can never produce the agent's identity.
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "guest"
    return f"{slug}-{secrets.token_hex(4)}"


def mint_token(settings: LiveKitSettings, join: JoinRequest, *, dispatch_agent: bool) -> str:
    """A join token; with ``dispatch_agent`` it dispatches the agent when it creates the room."""
    token = (
        api.AccessToken(settings.api_key, settings.api_secret)
        .with_identity(join.identity)
        .with_name(join.name)
        .with_ttl(TOKEN_TTL)
        .with_grants(
            api.VideoGrants(
                room_join=True,
                room=join.room,
                can_subscribe=True,
                can_publish=True,
                can_publish_sources=list(PUBLISH_SOURCES),
                # no data packets or text streams: captions come from the agent only
                can_publish_data=False,
                # no renaming: captions carry the name issued here (language: room_members)
                can_update_own_metadata=False,
            )
        )
    )
    if dispatch_agent:
        token = token.with_room_config(
            api.RoomConfiguration(agents=[api.RoomAgentDispatch(agent_name=protocol.AGENT_NAME)])
        )
    return token.to_jwt()


class TokenService:
    """Mints join tokens and dispatches the agent through ``admin``."""

    def __init__(self, admin: LiveKitAdmin) -> None:
        self.settings = admin.settings
        self._admin = admin

    async def join(self, room: str, name: str) -> JoinGrant:
        """A token for ``name`` in ``room``, under an identity the server chooses."""
        request = validate_join(room, name)
        room_exists = await self._ensure_dispatched(request.room)
        token = mint_token(self.settings, request, dispatch_agent=not room_exists)
        return JoinGrant(
            token=token,
            url=self.settings.browser_url,
            identity=request.identity,
            room=request.room,
        )

    async def _ensure_dispatched(self, room: str) -> bool:
        """Dispatch the agent to ``room`` if it exists without one; returns whether it exists."""
        async with self._admin.calls() as lk:
            rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
            if not rooms.rooms:
                return False
            dispatches = [
                d
                for d in await lk.agent_dispatch.list_dispatch(room)
                if d.agent_name == protocol.AGENT_NAME
            ]
            if not dispatches:
                log.info("dispatching the captioning agent to existing room %s", room)
                await lk.agent_dispatch.create_dispatch(
                    api.CreateAgentDispatchRequest(agent_name=protocol.AGENT_NAME, room=room)
                )
        return True
