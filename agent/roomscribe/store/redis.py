"""The transcript store in Redis: the one the LiveKit cluster already runs, for every machine.

Keys:

* ``roomscribe:record:{room}``: a stream, one entry per final or revision as
  published, capped at about :data:`MAX_ENTRIES`. Field ``s`` holds the
  segment's fields but the room as a JSON array in
  :class:`~roomscribe.store.model.StoredSegment`'s order (a third less memory
  than an object; a field added last with a default reads older entries). A
  revision is a new entry with its segment's id; a read resolves each id to
  its latest revision, at the place and times of its first final, as SQLite's
  upsert does (:mod:`roomscribe.store.model`).
* ``roomscribe:rooms``: a sorted set of the room names, scored by their latest
  ``final_at``, for ``list`` and :meth:`RedisStore.purge`.

Every write sets both keys to expire ``retention_s`` later, so a record nobody
writes any more disappears on its own; :meth:`RedisStore.purge` trims the
older entries of rooms still in use, and reads skip segments older than the
retention. Writes are one ``MULTI``/``EXEC`` transaction (all or nothing). A
write retried after a lost reply may append an entry twice: reads resolve
duplicates like revisions, so the record is unchanged.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import astuple
from typing import cast
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from roomscribe.store.model import RoomSummary, StoredSegment

log = logging.getLogger(__name__)

PREFIX = "roomscribe:record:"
INDEX = "roomscribe:rooms"
MAX_ENTRIES = 100_000
"""Stream entries kept per room name (finals and revisions): a busy room's day."""
SOCKET_TIMEOUT_S = 3.0
"""A Redis that does not answer (stopped, partitioned) fails a write or read after
this: the writer retries later and the backlog falls back to memory."""


class RedisStore:
    """The transcripts of every room in the Redis at ``url`` (``redis://`` or
    ``rediss://``, ``/db`` optional); a :class:`~roomscribe.store.model.TranscriptStore`."""

    def __init__(self, url: str, *, retention_s: float) -> None:
        self.location = _without_password(url)
        self._ttl_s = max(1, math.ceil(retention_s))
        self._client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
            # One immediate retry on a broken connection (Redis restarted: the
            # pooled socket is dead, a new one works); the writer paces the rest.
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        )

    def create(self) -> None:
        """Check that Redis answers; one that is down now only delays the writes."""
        try:
            self._client.ping()
        except redis.AuthenticationError:
            raise
        except (redis.ConnectionError, redis.TimeoutError) as e:
            log.warning("transcript store %s unreachable (%s): writes wait", self.location, e)

    def write(self, segments: Iterable[StoredSegment]) -> None:
        """Append ``segments`` to their rooms' streams in one transaction."""
        latest: dict[str, float] = {}
        with self._client.pipeline(transaction=True) as pipe:
            for s in segments:
                entry = json.dumps(astuple(s)[1:], ensure_ascii=False, separators=(",", ":"))
                pipe.xadd(PREFIX + s.room, {"s": entry}, maxlen=MAX_ENTRIES, approximate=True)
                latest[s.room] = max(latest.get(s.room, 0.0), s.final_at)
            for room, final_at in latest.items():
                pipe.expire(PREFIX + room, self._ttl_s)
                pipe.zadd(INDEX, {room: final_at}, gt=True)
            pipe.expire(INDEX, self._ttl_s)
            pipe.execute()

    def close(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        self._client.connection_pool.disconnect()

    def segments(
        self, room: str, *, since: float = 0.0, meeting: str | None = None
    ) -> list[StoredSegment]:
        """The room's segments whose first final is not older than ``since``, in
        the order they became final; only one ``meeting`` if given."""
        entries = cast(list[tuple[str, dict[str, str]]], self._client.xrange(PREFIX + room))
        latest: dict[str, StoredSegment] = {}
        for _, fields in entries:
            s = StoredSegment(room, *json.loads(fields["s"]))
            old = latest.get(s.segment_id)
            if old is None:
                latest[s.segment_id] = s
            elif s.replaces(old):
                latest[s.segment_id] = old.revised(s)
        kept = [
            s
            for s in latest.values()
            if s.final_at >= since and (meeting is None or s.meeting == meeting)
        ]
        return sorted(kept, key=lambda s: s.final_at)  # stable: stream order on ties

    def rooms(self, *, since: float = 0.0) -> list[RoomSummary]:
        """Every room with segments not older than ``since``, most recent first."""
        names = cast(list[str], self._client.zrevrangebyscore(INDEX, "+inf", since))
        summaries = []
        for room in names:
            segments = self.segments(room, since=since)
            if segments:
                summaries.append(
                    RoomSummary(
                        room,
                        len(segments),
                        min(s.spoken_at for s in segments),
                        max(s.final_at for s in segments),
                    )
                )
        return summaries

    def delete(self, room: str) -> int:
        """Delete a room's whole record; returns how many segments were deleted."""
        deleted = len(self.segments(room))
        with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(PREFIX + room)
            pipe.zrem(INDEX, room)
            pipe.execute()
        return deleted

    def purge(self, before: float) -> int:
        """Delete the stream entries added before ``before`` (Unix time); returns how many.

        Entry ids are the Redis server's clock, the segments' times the workers':
        a skew between them only moves the cut by that much, and reads filter
        on the segments' own times anyway.
        """
        cut = f"{max(0, int(before * 1000))}-0"
        rooms = cast(list[str], self._client.zrange(INDEX, 0, -1))
        with self._client.pipeline(transaction=False) as pipe:
            for room in rooms:
                pipe.xtrim(PREFIX + room, minid=cut, approximate=False)
            pipe.zremrangebyscore(INDEX, "-inf", f"({before}")
            trimmed = pipe.execute()
        return sum(int(n) for n in trimmed[:-1])


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
