"""Results of the streaming recognizer: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    """One recognized word; times are seconds since the stream started."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True, slots=True)
class Caption:
    """One caption update for a segment (a sentence or an utterance).

    ``text`` is the segment's full current text. Interim captions
    (``final=False``) may be replaced by later updates with the same
    ``segment_id``; once a ``final=True`` caption is emitted, that segment never
    changes again.
    """

    segment_id: str
    text: str
    final: bool
    words: tuple[Word, ...]
    start: float
    end: float
    language: str | None
