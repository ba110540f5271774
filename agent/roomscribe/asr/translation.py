"""English captions of one stream's finals, for listeners who ask for them.

While a stream has a :attr:`Translations.target` (a listener asked for
English), each live final caption in another language queues its segment's
audio (a copy: the policy's buffer is trimmed as usual). The scheduler hands
out one :attr:`~roomscribe.asr.jobs.JobKind.TRANSLATION` job at a time, only
in a step with nothing live to do (see :mod:`roomscribe.asr.scheduler`): the
same audio decoded with Whisper's ``translate`` task, greedily in a short
window like an interim refresh, so a translation never holds the model long.
Its result is a final :class:`Caption` with the original's ``segment_id``,
``translation=True`` and ``language`` the target, shown beside the original.

Only finals are translated (interims change too fast to be worth it),
each once; revisions are not translated again. The queue is bounded: when the
model has no spare time for translations, the oldest are dropped (counted).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import DecodeRequest, DecodeResult
from roomscribe.asr.events import Caption, Word
from roomscribe.asr.guards import GuardOptions, collapse_repeats, drop_annotations
from roomscribe.asr.jobs import Job, JobKind

TARGETS = ("en",)
"""Languages captions can be translated into: Whisper translates into English only."""

MAX_PENDING = 8
"""Finals waiting for their translation past this drop the oldest (the model
has no spare time; a translation that late is of little use)."""


@dataclass(frozen=True, slots=True)
class _Pending:
    segment_id: str
    start: float
    end: float
    language: str
    audio: NDArray[np.float32]


class Translations:
    """The finals of one stream waiting for their translation (not thread-safe)."""

    def __init__(self, guards: GuardOptions | None = None) -> None:
        self._guards = guards or GuardOptions()
        self._queue: deque[_Pending] = deque()
        self._in_flight: Job | None = None
        self.target: str | None = None
        """The language listeners asked for (``None``: nobody asks; nothing is translated)."""
        self.dropped = 0
        """Finals never translated because the queue was full."""

    def set_target(self, target: str | None) -> None:
        """Translate finals from now on into ``target`` (``None``: stop, drop what waits)."""
        if target is not None and target not in TARGETS:
            raise ValueError(f"cannot translate into {target!r}; only into {', '.join(TARGETS)}")
        self.target = target
        if target is None:
            self._queue.clear()

    def wants(self, caption: Caption) -> bool:
        """A live final in another language than the target (its audio is then :meth:`add`-ed)."""
        return (
            self.target is not None
            and caption.final
            and not caption.revision
            and bool(caption.text)
            and caption.language is not None
            and caption.language != self.target
        )

    def add(self, caption: Caption, start: float, end: float, audio: NDArray[np.float32]) -> None:
        """Queue a wanted final; ``audio`` is its segment, ``start``-``end`` (stream time)."""
        assert caption.language is not None
        self._queue.append(_Pending(caption.segment_id, start, end, caption.language, audio))
        if len(self._queue) > MAX_PENDING:
            self._queue.popleft()
            self.dropped += 1

    @property
    def finished(self) -> bool:
        """Nothing waits and nothing is being translated."""
        return not self._queue and self._in_flight is None

    def job(self) -> Job | None:
        """The oldest waiting final's translation, if any and none is in flight."""
        if self._in_flight is not None or not self._queue or self.target is None:
            return None
        p = self._queue.popleft()
        request = DecodeRequest(audio=p.audio, language=p.language, translate=True)
        self._in_flight = Job(JobKind.TRANSLATION, p.segment_id, p.start, p.end, request, p.start)
        return self._in_flight

    def apply(self, job: Job, result: DecodeResult) -> list[Caption]:
        """The English caption of a translation job (none if nobody asks any more)."""
        self._in_flight = None
        # the original was speech (it has a final): only loops and "[Music]" go;
        # word times are rough (English words aligned on French audio)
        kept = collapse_repeats(drop_annotations(result.words), self._guards.max_repeats)
        words = [Word(w.start + job.start, w.end + job.start, w.text, w.probability) for w in kept]
        text = "".join(w.text for w in words).strip()
        if self.target is None or not text:
            return []
        return [
            Caption(
                job.segment_id,
                text,
                True,
                tuple(words),
                words[0].start,
                words[-1].end,
                self.target,
                translation=True,
            )
        ]

    def fail(self, job: Job) -> None:
        """The translation failed: that final stays untranslated."""
        self._in_flight = None
