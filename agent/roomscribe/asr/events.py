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
    ``segment_id``. A ``final=True`` caption with ``revision`` 0 is the live
    final; the revision pass may later re-decode that speech with more context
    and emit ``final=True`` captions with the same ``segment_id`` and
    ``revision`` 1, 2, ... whose text replaces it (the transcript of record).
    """

    segment_id: str
    text: str
    final: bool
    words: tuple[Word, ...]
    start: float
    end: float
    language: str | None
    revision: int = 0
    """0 for live captions; n >= 1 for the n-th revision of a final segment."""
    translation: bool = False
    """The final segment ``segment_id`` said in ``language`` (English), by
    :mod:`roomscribe.asr.translation`: shown beside the original, never replacing it."""
