"""What the transcript store keeps, and what every store does with it.

A room's record is its final segments, each under its published segment id:
a revision (same id, higher ``revision``) replaces the text and keeps the
segment's place and times; an older revision arriving late never undoes a
newer one. Segments whose first final is older than the retention limit are
deleted and never read. Only text is kept: no audio, no words' timings.

Two stores implement :class:`TranscriptStore`: SQLite in the data directory
(:mod:`roomscribe.store.sqlite`, one machine) and Redis
(:mod:`roomscribe.store.redis`, the cluster's Redis, every machine).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredSegment:
    """One final segment of a room as last published (its latest revision)."""

    room: str
    segment_id: str
    """As published (``lk.segment_id``), unique in the room."""
    meeting: str
    """The LiveKit room sid: one meeting of a room name (a name can be reused)."""
    speaker: str
    """Identity of the participant who spoke."""
    speaker_name: str
    """Their display name as the server issued it."""
    track_id: str
    text: str
    start: float
    """Seconds since the track's caption stream started, as on the live captions."""
    end: float
    spoken_at: float
    """Wall-clock time (Unix seconds) the segment's speech started."""
    final_at: float
    """Wall-clock time its first final was published: the record's order and age."""
    language: str | None
    revision: int
    room_started_at: float = 0.0
    """Wall-clock time the LiveKit room was created (0: unknown): the downloaded
    transcript's time zero. Last, with a default: older records lack it."""

    def replaces(self, other: StoredSegment) -> bool:
        """Whether this row wins over ``other`` (same segment): a revision as new or newer."""
        return self.revision >= other.revision

    def revised(self, revision: StoredSegment) -> StoredSegment:
        """This segment with the text of a newer ``revision``: place and times hold."""
        return replace(
            self,
            text=revision.text,
            end=revision.end,
            language=revision.language,
            revision=revision.revision,
        )


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """One room of the store, for ``roomscribe transcripts list``."""

    room: str
    segments: int
    first_at: float
    last_at: float


class TranscriptStore(Protocol):
    """The transcripts of every room. Every method blocks: call it from a thread.

    One thread per process writes (:class:`~roomscribe.store.writer.RecordWriter`);
    any thread reads.
    """

    location: str
    """Where the record is kept, for logs (no secrets)."""

    def create(self) -> None:
        """Make the store usable (idempotent); raises if it cannot be."""

    def write(self, segments: Iterable[StoredSegment]) -> None:
        """Insert or revise ``segments``, all or nothing; raises if the store is down."""

    def close(self) -> None:
        """Release the writer's connection (a later call opens it again)."""

    def segments(
        self, room: str, *, since: float = 0.0, meeting: str | None = None
    ) -> list[StoredSegment]:
        """The room's segments whose first final is not older than ``since``, in
        the order they became final; only one ``meeting`` if given."""
        ...

    def rooms(self, *, since: float = 0.0) -> list[RoomSummary]:
        """Every room with segments not older than ``since``, most recent first."""
        ...

    def delete(self, room: str) -> int:
        """Delete a room's whole record; returns how many segments were deleted."""
        ...

    def purge(self, before: float) -> int:
        """Delete what is older than ``before`` (Unix time); returns how many segments
        (or stream entries) were deleted."""
        ...


def horizon(retention_s: float, now: float | None = None) -> float:
    """The oldest ``final_at`` kept under ``retention_s``."""
    return (time.time() if now is None else now) - retention_s
