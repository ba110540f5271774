"""The closed segments of one stream that wait for their final decode.

A segment closes when its speaker pauses or its sentence is cut off; from
then on it waits here, oldest first, with what finalizing it needs besides a
decode: the words its interim captions last showed (its final if it never
gets a decode) and, for a segment that continues an earlier final, that
final's words (which its decode may repeat).

The queue also holds the audio cap: past ``max_pending_s`` of audio held up
by waiting segments, the oldest are let go without a decode (see
:meth:`FinalQueue.pop_capped`), so memory and the finals backlog stay
bounded. Captions are the policy's business (:mod:`roomscribe.asr.policy`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from roomscribe.asr.events import Word
from roomscribe.asr.language_vote import LanguageGuess


@dataclass(slots=True)
class ClosedSegment:
    segment_id: str
    start: float
    end: float
    language: LanguageGuess | None = None
    """What the segment's interim decodes detected, while the stream's is unknown."""


class FinalQueue:
    """Closed segments awaiting their final decode, oldest first."""

    def __init__(self, max_pending_s: float) -> None:
        self._max_pending_s = max_pending_s
        self._segments: deque[ClosedSegment] = deque()
        self._shown: dict[str, list[Word]] = {}
        """Last interim words of closed segments awaiting their final decode."""
        self._continues: dict[str, list[Word]] = {}
        """Segments that continue a final (split-off or re-queued) -> its words."""
        self.capped_segments = 0
        """Segments let go without a decode because of ``max_pending_s``."""
        self.capped_s = 0.0
        """Seconds of audio those segments spanned."""

    def __bool__(self) -> bool:
        return bool(self._segments)

    @property
    def oldest(self) -> ClosedSegment | None:
        """The segment whose final decode is next."""
        return self._segments[0] if self._segments else None

    def add(self, segment: ClosedSegment, shown: list[Word]) -> None:
        """Queue a segment that just closed; ``shown`` is what its last interim caption showed."""
        if shown:
            self._shown[segment.segment_id] = shown
        self._segments.append(segment)

    def continue_after(self, segment_id: str, words: list[Word]) -> None:
        """Segment ``segment_id`` (open or closed) continues a final of ``words``."""
        self._continues[segment_id] = words

    def requeue(self, rest: ClosedSegment, words: list[Word]) -> None:
        """Queue the undecoded rest of a final's audio first; it continues ``words``."""
        self._segments.appendleft(rest)
        self._continues[rest.segment_id] = words

    def pop_oldest(self) -> ClosedSegment:
        """Remove the oldest segment: its final was decoded."""
        return self._segments.popleft()

    def drop(self, segment_id: str) -> None:
        """Remove the oldest segment if it is ``segment_id`` (a failed final may
        have failed after removing it)."""
        if self._segments and self._segments[0].segment_id == segment_id:
            self._segments.popleft()

    def pop_continued(self, segment_id: str) -> list[Word] | None:
        """The words of the final a segment continues, forgotten here."""
        return self._continues.pop(segment_id, None)

    def pop_shown(self, segment_id: str) -> list[Word] | None:
        """The words a segment's interim captions last showed, forgotten here."""
        return self._shown.pop(segment_id, None)

    def over_cap(self, end: float) -> bool:
        """The oldest segment starts more than ``max_pending_s`` before ``end``."""
        return bool(self._segments) and end - self._segments[0].start > self._max_pending_s

    def pop_capped(self, end: float) -> Iterator[ClosedSegment]:
        """Remove the oldest segments while :meth:`over_cap`, counting them; each
        is removed as the iteration reaches it."""
        while self.over_cap(end):
            segment = self._segments.popleft()
            self.capped_segments += 1
            self.capped_s += segment.end - segment.start
            yield segment

    def drain(self) -> Iterator[ClosedSegment]:
        """Remove every segment, oldest first (each as the iteration reaches it),
        then forget all shown and continued words."""
        while self._segments:
            yield self._segments.popleft()
        self._shown.clear()
        self._continues.clear()
