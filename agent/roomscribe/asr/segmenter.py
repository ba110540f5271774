"""Where one stream's segments begin and end (endpointing).

A segment opens where the speech gate hears speech start and closes where it
hears it end. While it is open, LocalAgreement commits what consecutive
interim decodes agree on (:mod:`roomscribe.asr.agreement`), and the sentence
cutter may close it early, at a sentence end the speaker talked past or once
it grew past ``max_segment_s`` (:mod:`roomscribe.asr.sentences`): the rest
continues as a new segment, so a final never waits for a pause that
conversation does not leave. Past ``hard_max_segment_s`` it is closed
whatever was decoded.

A closed segment waits in the :class:`~roomscribe.asr.finals.FinalQueue` for
its final decode. If that decode stops long before the segment's audio ends
(Whisper sometimes ends its output after a sentence and ignores the speech
that follows), the rest is queued again as a segment of its own
(:meth:`Segmenter.requeue_uncovered`) instead of being lost.

Plain synchronous code: the policy feeds it gate events and decoded words,
and turns what it shows into captions.
"""

from __future__ import annotations

import itertools

from roomscribe.asr.agreement import LocalAgreement
from roomscribe.asr.events import Word
from roomscribe.asr.finals import ClosedSegment, FinalQueue
from roomscribe.asr.gate import TAIL_PAD_S, SpeechGate
from roomscribe.asr.language_vote import LanguageVote
from roomscribe.asr.prompts import join
from roomscribe.asr.sentences import SentenceCutter, SentenceOptions
from roomscribe.asr.utterance import OpenSegment, SpeakerPace
from roomscribe.asr.vad import VadEvent

REQUEUE_S = 2.0
"""Undecoded speech after a final decode's last word that gets its own decode."""
_NEXT_WORD_S = 0.05
"""Where the rest of a requeued segment starts after the last word decoded."""


class Segmenter:
    """The open segment of one stream and its closed segments awaiting their finals."""

    def __init__(
        self,
        gate: SpeechGate,
        languages: LanguageVote,
        *,
        max_segment_s: float,
        hard_max_segment_s: float,
        max_pending_s: float,
        stream_id: str = "",
    ) -> None:
        self._languages = languages
        self._hard_max_segment_s = hard_max_segment_s
        self._prefix = f"{stream_id}-" if stream_id else ""
        self._ids = itertools.count()
        self._agreement = LocalAgreement()
        # the gate's method, not one of an object that holds the cutter: that cycle
        # kept a closed stream's buffers until the cyclic GC's rare full collection
        self._cutter = SentenceCutter(
            SentenceOptions(max_segment_s=max_segment_s, pause_below=gate.pause_below),
            gate.quiet_between,
        )
        self.open: OpenSegment | None = None
        """The segment being spoken."""
        self.finals = FinalQueue(max_pending_s)
        """Closed segments awaiting their final decode."""
        self.pace = SpeakerPace()

    @property
    def unfinal_start(self) -> float | None:
        """Where the oldest speech without its final starts: the oldest closed
        segment (closed segments precede the open one), else the open one."""
        oldest = self.finals.oldest
        if oldest is not None:
            return oldest.start
        return self.open.start if self.open is not None else None

    def feed(self, events: list[VadEvent], earliest: float, now: float) -> None:
        """Open and close segments at the gate's ``events``; a start is moved to
        ``earliest`` (the oldest audio kept) at the soonest. ``now``: the end of
        the audio received."""
        for event in events:
            if event.speaking:
                if self.open is None:
                    self._open(max(event.time, earliest))
            elif self.open is not None:
                self.close(event.time)
        seg = self.open
        if seg is not None and now - seg.start >= self._hard_max_segment_s:
            self.close(now)
            self._open(now)

    def close(self, end: float) -> None:
        """Close the open segment at ``end``: it waits for its final decode."""
        seg = self.open
        assert seg is not None
        self.finals.add(
            ClosedSegment(seg.segment_id, seg.start, end, self._languages.segment_guess()),
            seg.shown,
        )
        self.pace.segment_closed(seg.start, end)
        self.open = None

    def interim(
        self, segment_id: str, words: list[Word], decoded_to: float, now: float
    ) -> OpenSegment | None:
        """Take an interim decode of segment ``segment_id`` up to ``decoded_to``.

        Returns the open segment if what it shows changed (its ``shown`` words);
        ``None`` if not, if that segment was closed meanwhile (its final decode
        is queued) or if the decode closed it at a sentence cut.
        """
        seg = self.open
        if seg is None or segment_id != seg.segment_id:
            return None
        seg.committed += self._agreement.insert(words)
        tentative = self._agreement.tentative
        if self._split(seg, tentative, decoded_to, now):
            return None
        shown = seg.committed + tentative
        text = join(shown)
        if text and text != join(seg.shown):
            seg.shown = shown
            return seg
        return None

    def requeue_uncovered(self, end: float, words: list[Word]) -> None:
        """A final decode up to ``end`` read only ``words``: if it stopped long
        before the audio ended, queue the rest for a final decode of its own."""
        if not words:
            return
        covered = words[-1].end
        if end - TAIL_PAD_S - covered < REQUEUE_S:
            return
        rest = ClosedSegment(self._new_id(), covered + _NEXT_WORD_S, end)
        self.finals.requeue(rest, words)

    def _new_id(self) -> str:
        return f"{self._prefix}{next(self._ids)}"

    def _open(self, start: float) -> None:
        self.open = OpenSegment(self._new_id(), start)
        self._agreement.reset(start)
        self._languages.start_segment()

    def _split(
        self, seg: OpenSegment, tentative: list[Word], decoded_to: float, now: float
    ) -> bool:
        """Close the segment where the sentence cutter says, and open the next there.

        The closed part gets a final decode of just its audio, like a pause
        would; the words before the cut are what the rest continues.
        """
        cut_at = self._cutter.cut_at(
            seg.committed, tentative, decoded_to=decoded_to, segment_s=now - seg.start
        )
        if cut_at is None:
            return False
        before = [w for w in (*seg.committed, *tentative) if w.end <= cut_at]
        self.close(cut_at)
        self._open(cut_at)
        assert self.open is not None
        self.finals.continue_after(self.open.segment_id, before)
        return True
