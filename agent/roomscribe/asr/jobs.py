"""The work a stream's policy hands out: one :class:`Job` per decode it wants.

:class:`roomscribe.asr.policy.StreamPolicy` never calls a model itself; the
scheduler runs its jobs (one model shared by many streams) and gives each
result back to the stream that handed out the job.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from roomscribe.asr.backend import DecodeRequest
from roomscribe.asr.events import Caption, Word
from roomscribe.asr.revision import RevisionWindow


class JobKind(enum.Enum):
    FINAL = "final"
    INTERIM = "interim"
    SETTLED = "settled"
    """No decode: finals the policy settled by itself (audio cap, given-up
    stream); the job only carries their captions to the caller."""
    REVISION = "revision"
    """Re-decode of already-final speech (see :mod:`roomscribe.asr.revision`)."""
    TRANSLATION = "translation"
    """English text of a final segment (see :mod:`roomscribe.asr.translation`)."""


@dataclass(frozen=True, slots=True)
class Job:
    """One decode the policy wants; its result goes back to
    :meth:`roomscribe.asr.policy.StreamPolicy.apply`."""

    kind: JobKind
    segment_id: str
    start: float
    """Absolute stream time of the first sample of ``request.audio``."""
    end: float
    request: DecodeRequest
    segment_start: float
    """Where the segment begins; earlier audio in the request is context only."""
    heard: tuple[Word, ...] = ()
    """Final words of that context audio."""
    language_probability: float | None = None
    """Set when ``request.language`` was guessed from interim decodes, not known."""
    captions: tuple[Caption, ...] = ()
    """What a :attr:`JobKind.SETTLED` job delivers."""
    window: RevisionWindow | None = None
    """The segments a :attr:`JobKind.REVISION` job reads again."""


def settled_job(segment_id: str, start: float, end: float, captions: Sequence[Caption]) -> Job:
    """A :attr:`JobKind.SETTLED` job carrying ``captions`` (finals made without a decode)."""
    nothing = DecodeRequest(audio=np.zeros(0, dtype=np.float32))
    return Job(JobKind.SETTLED, segment_id, start, end, nothing, start, captions=tuple(captions))
