"""What a participant asks the server to change for them, proven by their room token.

Join tokens grant no ``canUpdateOwnMetadata`` (:mod:`roomscribe.server.token`):
with it a guest could rename themselves (``set_name``) and speak under someone
else's name in everyone's captions and in the transcript. So what the web
client needs to change goes through the server, which acts with the API key:

* ``POST /api/language`` sets the caller's
  :data:`~roomscribe.protocol.ATTR_SPOKEN_LANGUAGE` attribute
  (:meth:`RoomMembers.set_spoken_language`); the captioner follows it.
* ``POST /api/vocabulary`` sets the room's terms
  (:mod:`roomscribe.server.room_vocabulary`).

"A member of the room" is proven by the caller's LiveKit join token for that
room (the one ``POST /api/token`` handed out, or the refreshed one LiveKit gave
the connected client): it must carry our API key's valid signature, be
unexpired, grant ``room_join`` for exactly that room, and its identity must be
in the room now. The server only ever touches the token's own identity.
"""

from __future__ import annotations

import logging

import aiohttp
import jwt
from livekit import api

from roomscribe import protocol
from roomscribe.languages import AUTO, UnknownLanguageError, parse_language
from roomscribe.server.token import ROOM_PATTERN, JoinError
from roomscribe.settings import LiveKitSettings

log = logging.getLogger(__name__)


class RoomMembers:
    """Verifies room tokens and acts for their holder; ``start()`` / ``aclose()``.

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

    @property
    def client(self) -> api.LiveKitAPI:
        if self._client is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._client

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

    async def member(self, room: str, token: str) -> str:
        """:meth:`caller`, who must also be in ``room`` now (else :class:`JoinError` 403)."""
        identity = self.caller(room, token)
        try:
            await self.client.room.get_participant(
                api.RoomParticipantIdentity(room=room, identity=identity)
            )
        except api.TwirpError as e:
            if e.status == 404 or e.code == "not_found":
                raise JoinError(f"{identity} is not in room {room!r}", 403) from e
            raise JoinError(f"LiveKit server refused the request: {e.message}", 502) from e
        except (aiohttp.ClientError, TimeoutError) as e:
            raise JoinError(f"LiveKit server at {self.settings.url} is unreachable", 503) from e
        return identity

    async def set_spoken_language(self, room: str, token: str, language: str) -> str:
        """Set the caller's spoken-language attribute; returns the value set
        (a Whisper code or ``auto``). An unknown code is a :class:`JoinError` 400."""
        try:
            value = parse_language(language.strip()) or AUTO
        except UnknownLanguageError as e:
            raise JoinError(str(e)) from e
        identity = await self.member(room, token)
        try:
            # only the attribute: the name the token carries stays what the server issued
            await self.client.room.update_participant(
                api.UpdateParticipantRequest(
                    room=room,
                    identity=identity,
                    attributes={protocol.ATTR_SPOKEN_LANGUAGE: value},
                )
            )
        except api.TwirpError as e:
            raise JoinError(f"LiveKit server refused the request: {e.message}", 502) from e
        except (aiohttp.ClientError, TimeoutError) as e:
            raise JoinError(f"LiveKit server at {self.settings.url} is unreachable", 503) from e
        log.info("room %s: %s speaks %s", room, identity, value)
        return value
