"""``POST /api/vocabulary``: anyone in a room sets the room's vocabulary.

"Anyone in the room" is proven by the caller's LiveKit join token for that
room (:meth:`~roomscribe.server.room_members.RoomMembers.member`). The terms
are validated (:func:`roomscribe.vocabulary.validate_terms`) and written into
the room's metadata under :data:`~roomscribe.protocol.METADATA_VOCABULARY`,
other metadata keys kept; the captioning agent picks them up from the room's
``room_metadata_changed`` event.

Two people saving at the same instant: the last write wins (metadata is
read, merged and written back; LiveKit has no compare-and-set for it).
"""

from __future__ import annotations

import logging

from livekit import api

from roomscribe.server.room_members import RoomMembers
from roomscribe.server.token import JoinError
from roomscribe.vocabulary import VocabularyError, validate_terms, with_terms

log = logging.getLogger(__name__)


class RoomVocabularyService:
    """Writes a room's terms into its metadata for a member of the room.

    Errors are :class:`~roomscribe.server.token.JoinError` with the HTTP status.
    """

    def __init__(self, members: RoomMembers) -> None:
        self._members = members

    async def set_terms(self, room: str, token: str, terms: list[str]) -> tuple[str, ...]:
        """Validate and store ``terms`` as ``room``'s vocabulary; returns them normalized."""
        self._members.caller(room, token)  # a bad token is refused before the terms are judged
        try:
            valid = validate_terms(terms)
        except VocabularyError as e:
            raise JoinError(str(e)) from e
        identity = await self._members.member(room, token)
        async with self._members.admin.calls() as lk:
            rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
            if not rooms.rooms:
                raise JoinError(f"room {room!r} does not exist", 404)
            metadata = with_terms(rooms.rooms[0].metadata, valid)
            await lk.room.update_room_metadata(
                api.UpdateRoomMetadataRequest(room=room, metadata=metadata)
            )
        log.info("room %s: %s set the vocabulary (%d terms)", room, identity, len(valid))
        return valid
