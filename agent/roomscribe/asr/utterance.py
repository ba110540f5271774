"""What a stream's speaker is doing: the segment being spoken, and their pace.

:class:`OpenSegment` is the segment being spoken (from a speech onset, or a
sentence cut, to its close): the words consecutive interim decodes agreed on
and what its latest interim caption showed. :class:`SpeakerPace` remembers
when the speaker last stopped and how long their segments last; the scheduler
reads both to fit revisions into pauses (see :mod:`roomscribe.asr.scheduler`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from roomscribe.asr.events import Word


@dataclass(slots=True)
class OpenSegment:
    """The segment being spoken; the policy closes it at a pause or a sentence cut."""

    segment_id: str
    start: float
    committed: list[Word] = field(default_factory=list)
    """Words consecutive interim decodes agreed on (LocalAgreement)."""
    shown: list[Word] = field(default_factory=list)
    """What its latest interim caption showed (its text if it is finalized undecoded)."""
    refreshed_to: float = 0.0
    """Stream time its latest interim refresh decoded up to."""

    def refresh_due(self, end: float, *, min_s: float, interval_s: float) -> bool:
        """With audio up to ``end``: at least ``min_s`` long, and ``interval_s`` of
        new audio since the latest refresh."""
        return end - self.start >= min_s and end - self.refreshed_to >= interval_s


class SpeakerPace:
    """When the speaker's speech last ended, and how long their latest segments lasted."""

    def __init__(self, measured: int = 16) -> None:
        """``measured``: how many of the latest segment lengths are kept."""
        self._lengths: deque[float] = deque(maxlen=measured)
        self._ended_at: float | None = None

    def segment_closed(self, start: float, end: float) -> None:
        self._lengths.append(end - start)
        self._ended_at = end

    def silent_s(self, now: float) -> float:
        """Stream seconds from the end of the last segment to ``now`` (``inf``: never spoke)."""
        if self._ended_at is None:
            return float("inf")
        return max(0.0, now - self._ended_at)

    @property
    def short_segment_s(self) -> float:
        """How long the shorter segments last: the first quartile of the latest ones
        (0 until a quarter of them were seen)."""
        measured = self._lengths.maxlen or 0
        if len(self._lengths) < measured // 4:
            return 0.0
        return sorted(self._lengths)[len(self._lengths) // 4]
