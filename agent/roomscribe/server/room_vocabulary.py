"""``POST /api/vocabulary``: anyone in a room sets the room's vocabulary.

"Anyone in the room" is proven by the caller's LiveKit join token for that
room (the one ``POST /api/token`` handed out, or the refreshed one LiveKit
gave the connected client): it must carry our API key's valid signature, be
unexpired, grant ``room_join`` for exactly that room, and its identity must be
in the room now. The terms are validated (:func:`roomscribe.vocabulary.validate_terms`)
and written into the room's metadata under
:data:`~roomscribe.protocol.METADATA_VOCABULARY`, other metadata keys kept; the
captioning agent picks them up from the room's ``room_metadata_changed`` event.

Two people saving at the same instant: the last write wins (metadata is
read, merged and written back; LiveKit has no compare-and-set for it).
"""

from __future__ import annotations

import logging

import aiohttp
import jwt
from livekit import api

from roomscribe.server.token import ROOM_PATTERN, JoinError
from roomscribe.settings import LiveKitSettings
from roomscribe.vocabulary import VocabularyError, validate_terms, with_terms

log = logging.getLogger(__name__)


class RoomVocabularyService:
    """Verifies room tokens and writes room metadata; ``start()`` / ``aclose()``.

    Errors are :class:`~roomscribe.server.token.JoinError` with the HTTP status.
    """

    def __init__(self, settings: LiveKitSettings) -> None:
        self.settings = settings
        self._verifier = api.TokenVerifier(settings.api_key, settings.api_secret)
        self._client: api.LiveKitAPI | None = None

    async def start(self) -> None:
        s = self.settings
        self._client = api.LiveKitAPI(s.url, s.api_key, s.api_secret)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def caller(self, room: str, token: str) -> str:
        """The identity ``token`` grants in ``room``; :class:`JoinError` 400/403 otherwise."""
        if not ROOM_PATTERN.fullmatch(room):
            raise JoinError("room must be 1-64 characters: letters, digits, '-' or '_'")
        try:
            claims = self._verifier.verify(token)
        except (jwt.PyJWTError, ValueError) as e:
            raise JoinError(f"the room token is not valid: {e}", 403) from e
        video = claims.video
        if video is None or not video.room_join or video.room != room or not claims.identity:
            raise JoinError(f"the token is not a join token for room {room!r}", 403)
        return claims.identity

    async def set_terms(self, room: str, token: str, terms: list[str]) -> tuple[str, ...]:
        """Validate and store ``terms`` as ``room``'s vocabulary; returns them normalized."""
        identity = self.caller(room, token)
        try:
            valid = validate_terms(terms)
        except VocabularyError as e:
            raise JoinError(str(e)) from e
        if self._client is None:
            raise RuntimeError("RoomVocabularyService is not started")
        try:
            await self._client.room.get_participant(
                api.RoomParticipantIdentity(room=room, identity=identity)
            )
        except api.TwirpError as e:
            if e.status == 404 or e.code == "not_found":
                raise JoinError(f"{identity} is not in room {room!r}", 403) from e
            raise JoinError(f"LiveKit server refused the request: {e.message}", 502) from e
        except (aiohttp.ClientError, TimeoutError) as e:
            raise JoinError(f"LiveKit server at {self.settings.url} is unreachable", 503) from e
        try:
            rooms = await self._client.room.list_rooms(api.ListRoomsRequest(names=[room]))
            if not rooms.rooms:
                raise JoinError(f"room {room!r} does not exist", 404)
            metadata = with_terms(rooms.rooms[0].metadata, valid)
            await self._client.room.update_room_metadata(
                api.UpdateRoomMetadataRequest(room=room, metadata=metadata)
            )
        except api.TwirpError as e:
            raise JoinError(f"LiveKit server refused the request: {e.message}", 502) from e
        except (aiohttp.ClientError, TimeoutError) as e:
            raise JoinError(f"LiveKit server at {self.settings.url} is unreachable", 503) from e
        log.info("room %s: %s set the vocabulary (%d terms)", room, identity, len(valid))
        return valid
