"""Which decode one stream wants next, and what that decode hears.

A stream wants three kinds of decode (:class:`~roomscribe.asr.jobs.JobKind`):
the final decode of its oldest closed segment, an interim refresh of the
segment being spoken (every ``interim_interval_s`` of new audio, not at the
start of a pause), and a revision of already-final speech. The scheduler asks
in that order of priority and runs what it gets; a stream has at most one
final or interim job in flight (:attr:`JobPlanner.in_flight`).

A final decode is given the words before its segment as prompt and, while
the model is not busy, the last seconds of their audio too
(:mod:`roomscribe.asr.prompts`); its language is the stream's, else what the
segment's interims detected (:mod:`roomscribe.asr.language_vote`).

Plain synchronous code: it reads the stream's state and builds requests.
"""

from __future__ import annotations

from roomscribe.asr.backend import DecodeRequest
from roomscribe.asr.buffer import AudioBuffer
from roomscribe.asr.events import Word
from roomscribe.asr.gate import SpeechGate
from roomscribe.asr.jobs import Job, JobKind
from roomscribe.asr.language_vote import LanguageGuess, LanguageVote
from roomscribe.asr.prompts import LEFT_CONTEXT_S, MAX_CONTEXT_SEGMENT_S, Context, join
from roomscribe.asr.revision import Reviser
from roomscribe.asr.segmenter import Segmenter

MIN_INTERIM_S = 0.5
"""Segments shorter than this get no interim decode."""
EDGE_S = 0.05
"""Word times are approximate: a context word may start this far before its audio."""


class JobPlanner:
    """Builds the decode jobs of one stream (the policy owns it)."""

    def __init__(
        self,
        buffer: AudioBuffer,
        gate: SpeechGate,
        segments: Segmenter,
        context: Context,
        languages: LanguageVote,
        *,
        interim_interval_s: float,
        vocabulary: tuple[str, ...],
    ) -> None:
        self._buffer = buffer
        self._gate = gate
        self._segments = segments
        self._context = context
        self._languages = languages
        self._interim_interval_s = interim_interval_s
        self.vocabulary = vocabulary
        """Terms every decode is given (see :attr:`DecodeRequest.vocabulary`)."""
        self.in_flight: Job | None = None
        """The final or interim job handed out and not yet applied or failed."""

    def final(self, *, context: bool, sharing: int) -> Job | None:
        """The oldest closed segment's final decode, if any; with ``context``
        it hears the final words just before the segment again."""
        seg = self._segments.finals.oldest
        if self.in_flight is not None or seg is None:
            return None
        heard: tuple[Word, ...] = ()
        if context and seg.end - seg.start <= MAX_CONTEXT_SEGMENT_S:
            earliest = max(self._buffer.start, seg.start - LEFT_CONTEXT_S)
            heard = self._context.heard_before(seg.start, earliest)
        return self._hand_out(
            JobKind.FINAL, seg.segment_id, seg.start, seg.end, heard, seg.language, sharing
        )

    def interim(self, slowdown: float, *, hold_at_pause: bool) -> Job | None:
        """A refresh of the open segment, if ``interim_interval_s * slowdown`` of
        new audio arrived (and, with ``hold_at_pause``, no pause is beginning)."""
        seg = self._segments.open
        if self.in_flight is not None or self._segments.finals or seg is None:
            return None
        end = self._buffer.end
        interval_s = self._interim_interval_s * slowdown
        if not seg.refresh_due(end, min_s=MIN_INTERIM_S, interval_s=interval_s):
            return None
        if hold_at_pause and self._gate.pausing:
            return None
        seg.refreshed_to = end
        return self._hand_out(JobKind.INTERIM, seg.segment_id, seg.start, end)

    def revision(self, reviser: Reviser, max_window_s: float | None) -> Job | None:
        """A window of final speech to re-decode, if one is due."""
        if not reviser.due(self._buffer.end):
            return None
        window, prompt = reviser.window(
            max_window_s, self._buffer.end, self._segments.unfinal_start
        )
        start = max(self._buffer.start, window.start)
        request = DecodeRequest(
            audio=self._buffer.slice(start, window.end),
            prompt=prompt,
            language=self._languages.language or window.language,
            final=True,
            vocabulary=self.vocabulary,
            long_form=True,
        )
        return Job(
            JobKind.REVISION, window.segments[0], start, window.end, request, start, window=window
        )

    def _hand_out(
        self,
        kind: JobKind,
        segment_id: str,
        start: float,
        end: float,
        heard: tuple[Word, ...] = (),
        guess: LanguageGuess | None = None,
        sharing: int = 1,
    ) -> Job:
        """A job decoding ``start``-``end``, after the audio of ``heard`` (context).

        ``guess`` is the language the segment's interim decodes detected; it
        is used while the stream's language is unknown, because Whisper's
        guess on a long padded final window is worse than theirs on the same
        speech (Spanish heard as Indonesian).
        """
        audio_start = max(self._buffer.start, heard[0].start - EDGE_S) if heard else start
        language, probability = self._languages.for_decode(end - start, guess)
        request = DecodeRequest(
            audio=self._buffer.slice(audio_start, end),
            prompt=self._context.prompt(heard),
            language=language,
            final=kind is JobKind.FINAL,
            context_s=start - audio_start,
            context_text=join(heard),
            vocabulary=self.vocabulary,
            sharing=sharing,
        )
        job = Job(kind, segment_id, audio_start, end, request, start, heard, probability)
        self.in_flight = job
        return job
