"""What a participant asks the server to change for them, proven by their room token.

Join tokens grant no ``canUpdateOwnMetadata`` (:mod:`roomscribe.server.token`):
with it a guest could rename themselves (``set_name``) and speak under someone
else's name in everyone's captions and in the transcript. So what the web
client needs to change goes through the server, which acts with the API key:

* ``POST /api/language`` sets the caller's
  :data:`~roomscribe.protocol.ATTR_SPOKEN_LANGUAGE` attribute
  (:meth:`RoomMembers.set_spoken_language`); the captioner follows it.
* ``POST /api/translation`` sets (or clears) the caller's
  :data:`~roomscribe.protocol.ATTR_TRANSLATE_TO` attribute
  (:meth:`RoomMembers.set_translation`); the captioner counts the askers.
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

import jwt
from livekit import api

from roomscribe import protocol
from roomscribe.asr.translation import TARGETS
from roomscribe.languages import AUTO, UnknownLanguageError, parse_language
from roomscribe.server.livekit_admin import LiveKitAdmin
from roomscribe.server.token import ROOM_PATTERN, JoinError

log = logging.getLogger(__name__)


class RoomMembers:
    """Verifies room tokens and acts for their holder through ``admin``.

    Errors are :class:`~roomscribe.server.token.JoinError` with the HTTP status.
    """

    def __init__(self, admin: LiveKitAdmin) -> None:
        self.admin = admin
        settings = admin.settings
        self._verifier = api.TokenVerifier(settings.api_key, settings.api_secret)

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
        async with self.admin.calls() as lk:
            try:
                await lk.room.get_participant(
                    api.RoomParticipantIdentity(room=room, identity=identity)
                )
            except api.TwirpError as e:
                if e.status == 404 or e.code == "not_found":
                    raise JoinError(f"{identity} is not in room {room!r}", 403) from e
                raise
        return identity

    async def set_spoken_language(self, room: str, token: str, language: str) -> str:
        """Set the caller's spoken-language attribute; returns the value set
        (a Whisper code or ``auto``). An unknown code is a :class:`JoinError` 400."""
        try:
            value = parse_language(language.strip()) or AUTO
        except UnknownLanguageError as e:
            raise JoinError(str(e)) from e
        identity = await self._set_attribute(room, token, protocol.ATTR_SPOKEN_LANGUAGE, value)
        log.info("room %s: %s speaks %s", room, identity, value)
        return value

    async def set_translation(self, room: str, token: str, target: str) -> str:
        """Ask for captions also in ``target`` (``en``), or stop (``""``); returns it.
        Another value is a :class:`JoinError` 400."""
        target = target.strip()
        if target and target not in TARGETS:
            raise JoinError(f"captions can be translated into {', '.join(TARGETS)} only")
        identity = await self._set_attribute(room, token, protocol.ATTR_TRANSLATE_TO, target)
        log.info("room %s: %s asks for captions in %s", room, identity, target or "the original")
        return target

    async def _set_attribute(self, room: str, token: str, name: str, value: str) -> str:
        """Set one attribute of the token's holder, who must be in ``room``; their identity."""
        identity = await self.member(room, token)
        async with self.admin.calls() as lk:
            # only the attribute: the name the token carries stays what the server issued
            # ("" deletes it)
            await lk.room.update_participant(
                api.UpdateParticipantRequest(room=room, identity=identity, attributes={name: value})
            )
        return identity
