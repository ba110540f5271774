"""The transcript of record of one room, and the backlog a late joiner receives.

Every final caption the room received (revisions included) is recorded under
its published segment id, keeping the latest text, so the record is the
revised transcript once the revision pass has run. Memory is bounded: segments
older than ``max_age_s`` and beyond ``max_segments`` are forgotten.

When someone joins a room that is already being captioned, the captioner sends
them :func:`backlog_payload` on :data:`~roomscribe.protocol.BACKLOG_TOPIC`, addressed to them alone
(``destination_identities``), so their transcript panel and downloads start
complete. The payload is a JSON list of :class:`RecordedSegment` objects,
oldest first (see :func:`~roomscribe.protocol.backlog_entry`).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from roomscribe.asr.events import Caption
from roomscribe.protocol import backlog_entry

MAX_AGE_S = 30 * 60.0
"""Segments whose final arrived longer ago than this are forgotten."""
MAX_SEGMENTS = 2_000
"""At most this many segments per room (about 30 minutes of lively talk)."""


@dataclass(frozen=True, slots=True)
class RecordedSegment:
    """One final segment as the room last received it."""

    speaker: str
    """Identity of the participant who spoke."""
    speaker_name: str
    """Their display name when it was spoken."""
    track_id: str
    segment_id: str
    """As published (``lk.segment_id``), unique in the room."""
    text: str
    start: float
    """Seconds since the track's caption stream started, as on the live captions."""
    end: float
    language: str | None
    revision: int
    received_at: float
    """Monotonic time its first final arrived, for the age bound."""


class RoomTranscript:
    """Final segments of one room, latest text per segment id, bounded."""

    def __init__(
        self,
        *,
        max_age_s: float = MAX_AGE_S,
        max_segments: int = MAX_SEGMENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_age_s = max_age_s
        self._max_segments = max_segments
        self._clock = clock
        # insertion order is the order segments first became final
        self._segments: OrderedDict[str, RecordedSegment] = OrderedDict()

    def __len__(self) -> int:
        return len(self._segments)

    def record(self, caption: Caption, *, speaker: str, speaker_name: str, track_id: str) -> None:
        """Keep a final caption (or a revision of one); interim captions are ignored.

        ``caption.segment_id`` must be the published, room-unique id.
        """
        if not caption.final:
            return
        previous = self._segments.get(caption.segment_id)
        revision = caption.revision
        if previous is not None and revision < previous.revision:
            return  # an older revision delivered late must not undo a newer one
        self._segments[caption.segment_id] = RecordedSegment(
            speaker=speaker,
            speaker_name=speaker_name,
            track_id=track_id,
            segment_id=caption.segment_id,
            text=caption.text.strip(),
            start=caption.start,
            end=caption.end,
            language=caption.language,
            revision=revision,
            # a revision keeps its segment's age: the bound is on when it was said
            received_at=previous.received_at if previous is not None else self._clock(),
        )
        self._forget_old()

    def segments(self) -> list[RecordedSegment]:
        """The segments within the age bound with text, in the order they became final."""
        self._forget_old()
        return [s for s in self._segments.values() if s.text]

    def backlog_payload(self) -> str:
        """JSON list of :meth:`segments` for a late joiner."""
        return json.dumps([backlog_entry(s) for s in self.segments()], ensure_ascii=False)

    def _forget_old(self) -> None:
        while len(self._segments) > self._max_segments:
            self._segments.popitem(last=False)
        horizon = self._clock() - self._max_age_s
        # insertion order is age order: a revision keeps its place and its time
        while self._segments:
            first = next(iter(self._segments.values()))
            if first.received_at >= horizon:
                break
            self._segments.popitem(last=False)
