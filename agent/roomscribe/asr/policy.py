"""The streaming policy of one audio stream: the coordinator of the streaming core.

Audio goes through the speech gate (:mod:`roomscribe.asr.gate`); the
segmenter (:mod:`roomscribe.asr.segmenter`) opens a segment where speech
starts and closes it at a pause, a sentence cut or a length limit. While a
segment is open it is re-decoded every ``interim_interval_s`` of new audio
(interim captions, LocalAgreement in :mod:`roomscribe.asr.agreement`); a
closed segment gets one final decode of its audio, hearing the final words
before it as prompt and, when the model is not busy, again as audio
(:mod:`roomscribe.asr.prompts`). The stream's language is voted on in
:mod:`roomscribe.asr.language_vote`; finals are re-read later by the revision
pass (:mod:`roomscribe.asr.revision`).

The policy never calls a model itself: it hands out
:class:`~roomscribe.asr.jobs.Job` objects and takes their results back, so one
scheduler can share one model among many streams (see
:mod:`roomscribe.asr.scheduler`). One job per stream is in flight at a time.

Overload: when the model cannot keep up, closed segments queue for their final
decode and their audio is kept. Past ``max_pending_s`` of such audio the
oldest waiting segments are finalized at once with the text last shown for
them (no decode): the captions stay current, memory and the finals backlog stay
bounded, and what is lost is only speech that was never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.agreement import after_heard, drop_repeated_head
from roomscribe.asr.backend import DecodeResult
from roomscribe.asr.buffer import AudioBuffer
from roomscribe.asr.events import Caption, Word
from roomscribe.asr.gate import SpeechGate
from roomscribe.asr.guards import GuardOptions, clean
from roomscribe.asr.jobs import Job, JobKind, settled_job
from roomscribe.asr.language_vote import LanguageVote, LanguageVoteOptions
from roomscribe.asr.planner import JobPlanner
from roomscribe.asr.prompts import LEFT_CONTEXT_S, Context, join
from roomscribe.asr.revision import Reviser, RevisionOptions
from roomscribe.asr.segmenter import Segmenter
from roomscribe.asr.sentences import sentence_case
from roomscribe.asr.translation import Translations
from roomscribe.asr.vad import VadModel, VadOptions

_EDGE_S = 0.05
"""A word starting this close to the end of a final's audio belongs to the next segment."""


@dataclass(frozen=True, slots=True)
class PolicyOptions:
    """How one stream is captioned; the defaults are what the benchmark measures."""

    vad: VadOptions = field(default_factory=VadOptions)
    guards: GuardOptions = field(default_factory=GuardOptions)
    revision: RevisionOptions = field(default_factory=RevisionOptions)
    language: str | None = None
    """Language code; ``None`` detects it per stream."""
    vocabulary: tuple[str, ...] = ()
    """Terms likely to be spoken (names, product words, acronyms), given to
    every decode of the stream (see :attr:`DecodeRequest.vocabulary`)."""
    interim_interval_s: float = 0.5
    """New audio needed before the open segment is re-decoded: fresher interim
    captions against more decodes."""
    max_segment_s: float = 6.0
    """Past this, a segment is cut whatever the VAD heard (at its last sentence
    or clause end, else its last committed word): the most a final waits for
    speech that never pauses."""
    hard_max_segment_s: float = 12.0
    """Past this, a segment is closed whatever was decoded."""
    max_pending_s: float = 30.0
    """Audio awaiting a final decode (from the start of the oldest waiting
    segment to the newest sample) past this: the oldest waiting segments are
    finalized with the text last shown for them, without a decode. Bounds
    memory and lag when the model cannot keep up."""

    def __post_init__(self) -> None:
        if self.max_pending_s <= self.hard_max_segment_s:
            raise ValueError("max_pending_s must exceed hard_max_segment_s")


class StreamPolicy:
    """Turns one 16 kHz mono stream into :class:`Caption` events."""

    def __init__(
        self,
        vad_model: VadModel,
        options: PolicyOptions | None = None,
        *,
        stream_id: str = "",
    ) -> None:
        self._opts = options or PolicyOptions()
        self._gate = SpeechGate(vad_model, self._opts.vad)
        self._buffer = AudioBuffer()
        self._languages = LanguageVote(LanguageVoteOptions(), self._opts.language)
        self._segments = Segmenter(
            self._gate,
            self._languages,
            max_segment_s=self._opts.max_segment_s,
            hard_max_segment_s=self._opts.hard_max_segment_s,
            max_pending_s=self._opts.max_pending_s,
            stream_id=stream_id,
        )
        self._context = Context()
        self._jobs = JobPlanner(
            self._buffer,
            self._gate,
            self._segments,
            self._context,
            self._languages,
            interim_interval_s=self._opts.interim_interval_s,
            vocabulary=self._opts.vocabulary,
        )
        self._closing = False
        self.reviser = (
            Reviser(self._opts.revision, self._opts.guards) if self._opts.revision.enabled else None
        )
        """The stream's revision pass (``None`` when disabled or the stream was given up)."""
        self.translations = Translations(self._opts.guards)
        """Finals waiting for their English text (see :mod:`roomscribe.asr.translation`)."""
        self.last_decode_at = 0.0
        """Scheduler bookkeeping: when this stream's last job was handed out."""
        self.last_revision_at = 0.0
        """Scheduler bookkeeping: when this stream's last revision was handed out."""
        self.consecutive_failures = 0
        """Scheduler bookkeeping: this stream's jobs that failed in a row."""
        self.failed_jobs = 0
        """Jobs of this stream whose decode (or applying its result) failed for good."""
        self.failed = False
        """Given up after repeated failures (see :meth:`give_up`)."""

    # -- input -----------------------------------------------------------------

    @property
    def audio_end(self) -> float:
        return self._buffer.end

    @property
    def language(self) -> str | None:
        return self._languages.language

    def set_language(self, language: str | None) -> None:
        """Change the spoken language (``None``: detect again)."""
        self._languages.set_language(language)

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """Terms every decode of this stream is given (see :meth:`set_vocabulary`)."""
        return self._jobs.vocabulary

    def set_vocabulary(self, terms: tuple[str, ...]) -> None:
        """Replace the stream's vocabulary; decodes handed out from now on use it."""
        self._jobs.vocabulary = tuple(terms)

    def feed(self, audio: NDArray[np.float32]) -> None:
        """Append 16 kHz mono float32 audio and run the VAD over it."""
        if self._closing:
            raise RuntimeError("stream is closed")
        self._buffer.append(audio)
        events = self._gate.feed(audio)
        self._segments.feed(events, self._buffer.start, self._buffer.end)
        if self.reviser is not None:
            self.reviser.cap(self._buffer.end)
        self._trim()

    def end_utterance(self) -> None:
        """The audio stopped (muted mic, stalled network): finalize what was said so far."""
        if self._segments.open is not None and not self._closing:
            self._segments.close(self._buffer.end)

    def close(self) -> None:
        """End of audio: the open segment gets its final decode."""
        if self._closing:
            return
        self._closing = True
        if self._segments.open is not None:
            self._segments.close(self._buffer.end)
        if self.reviser is not None:
            self.reviser.close()

    @property
    def closing(self) -> bool:
        """:meth:`close` was called: no more audio is taken."""
        return self._closing

    @property
    def done(self) -> bool:
        """Closed, every segment has had its final caption and the last revision ran."""
        return (
            self._closing
            and not self._segments.finals
            and self._jobs.in_flight is None
            and (self.reviser is None or self.reviser.finished)
            and self.translations.finished
        )

    # -- what the scheduler reads ----------------------------------------------

    @property
    def speaking(self) -> bool:
        """An utterance is open (interim refreshes may be wanted)."""
        return self._segments.open is not None

    @property
    def silent_s(self) -> float:
        """Stream seconds since this speaker's speech last ended (0 while an
        utterance is open; ``inf`` if it never spoke)."""
        if self._segments.open is not None:
            return 0.0
        return self._segments.pace.silent_s(self._buffer.end)

    @property
    def finalizing(self) -> bool:
        """A closed segment waits for (or is in) its final decode."""
        return bool(self._segments.finals)

    @property
    def final_wait_s(self) -> float:
        """Audio received since the oldest segment awaiting its final closed.

        Audio arrives in real time, so this is how long that final has been
        waiting (in stream time, which replay and live share): the stream's
        lag behind its speaker.
        """
        oldest = self._segments.finals.oldest
        if oldest is None:
            return 0.0
        return max(0.0, self._buffer.end - oldest.end)

    @property
    def kept_s(self) -> float:
        """Seconds of this stream's audio held in memory."""
        return self._buffer.duration

    @property
    def pending_s(self) -> float:
        """Audio from the start of the oldest unfinalized segment to the newest sample."""
        start = self._segments.unfinal_start
        return 0.0 if start is None else self._buffer.end - start

    @property
    def revision_overdue_s(self) -> float:
        """How long this stream's oldest unrevised speech has been due (0: none)."""
        return 0.0 if self.reviser is None else self.reviser.overdue_s(self._buffer.end)

    @property
    def short_segment_s(self) -> float:
        """How long this speaker's shorter segments last: the first quartile of
        the latest ones (0 until a few were seen). A segment open for less than
        this minus a decode is unlikely to end during it."""
        return self._segments.pace.short_segment_s

    @property
    def capped_segments(self) -> int:
        """Segments finalized without a decode because of ``max_pending_s``."""
        return self._segments.finals.capped_segments

    @property
    def capped_s(self) -> float:
        """Seconds of audio those segments spanned."""
        return self._segments.finals.capped_s

    # -- jobs ------------------------------------------------------------------

    def settled_job(self) -> Job | None:
        """Apply the audio cap; a :attr:`JobKind.SETTLED` job carrying what it finalized.

        Called between decodes (never while this stream has a job in flight).
        O(1) unless the cap is exceeded.
        """
        finals = self._segments.finals
        first = finals.oldest
        if self._jobs.in_flight is not None or first is None:
            return None
        end = self._buffer.end
        if not finals.over_cap(end):
            return None
        captions: list[Caption] = []
        last = first
        for seg in finals.pop_capped(end):
            last = seg
            captions += self._settle(seg.segment_id, seg.start, seg.end)
        self._trim()
        return settled_job(last.segment_id, first.start, last.end, captions)

    def give_up(self) -> Job:
        """Decoding this stream keeps failing: finalize everything with the text shown, and close.

        Returns a :attr:`JobKind.SETTLED` job carrying those finals; afterwards
        the stream is :attr:`done` and :attr:`failed`.
        """
        self.failed = True
        self._closing = True
        self._jobs.in_flight = None
        self.reviser = None
        if self._segments.open is not None:
            self._segments.close(self._buffer.end)
        captions: list[Caption] = []
        start = end = self._buffer.end
        for seg in self._segments.finals.drain():
            start, end = min(start, seg.start), seg.end
            captions += self._settle(seg.segment_id, seg.start, seg.end)
        return settled_job("", start, end, captions)

    def final_job(self, *, context: bool = True, sharing: int = 1) -> Job | None:
        """The oldest closed segment's final decode, if any (takes priority).

        With ``context``, the decode also hears the final words just before
        the segment (see :mod:`roomscribe.asr.prompts`). ``sharing``: the
        streams that share the model now (see :attr:`DecodeRequest.sharing`).
        """
        return self._jobs.final(context=context, sharing=sharing)

    def interim_job(self, slowdown: float = 1.0, *, hold_at_pause: bool = True) -> Job | None:
        """A refresh of the open segment, if enough new audio arrived.

        ``slowdown`` stretches the refresh interval when many streams share
        the model, leaving compute for final decodes. With ``hold_at_pause``
        no refresh starts while the VAD hears a pause beginning: the segment
        may close within ``min_silence_s``, and a refresh started then would
        hold up its final decode.
        """
        return self._jobs.interim(slowdown, hold_at_pause=hold_at_pause)

    def revision_job(self, max_window_s: float | None = None) -> Job | None:
        """Re-decode a window of final speech, if one is due (lowest priority);
        ``max_window_s`` bounds its audio (and so its decode time)."""
        return None if self.reviser is None else self._jobs.revision(self.reviser, max_window_s)

    # -- results ---------------------------------------------------------------

    def apply(self, job: Job, result: DecodeResult | None) -> list[Caption]:
        """Take a job's result; returns the captions it produces.

        ``result`` is ``None`` only for a :attr:`JobKind.SETTLED` job (nothing decoded).
        """
        if job.kind is JobKind.SETTLED:
            return list(job.captions)
        if result is None:
            raise ValueError("a decode job needs its result")
        if job.kind is JobKind.TRANSLATION:
            return self.translations.apply(job, result)
        if job.kind is JobKind.REVISION:
            if self.reviser is None or job.window is None:
                return []  # the stream was given up meanwhile
            captions = self.reviser.apply(job.window, result, job.start)
            self._trim()
            return captions
        if job is not self._jobs.in_flight:
            raise ValueError("result for a job this stream did not hand out")
        self._jobs.in_flight = None
        decoded = [
            Word(w.start + job.start, w.end + job.start, w.text, w.probability)
            for w in result.words
        ]
        if job.kind is JobKind.FINAL:
            # a word that starts at the very end of the window belongs to the next
            # segment; the context heard again is not part of this one (and is
            # left out before the guards, which would take a phrase said
            # again for a decoding loop)
            decoded = [w for w in decoded if w.start < job.end - _EDGE_S]
            decoded = after_heard(job.heard, decoded, job.segment_start)
        words = clean(replace(result, words=tuple(decoded)), self._opts.guards)
        if job.kind is JobKind.FINAL:
            captions = self._final(job, result, words)
        else:
            self._note_language(job, result)
            seg = self._segments.interim(job.segment_id, words, job.end, self._buffer.end)
            captions = []
            if seg is not None:
                captions = [self._caption(seg.segment_id, seg.shown, False, seg.start, job.end)]
        self._trim()
        return captions

    def fail(self, job: Job) -> list[Caption]:
        """A job's decode failed for good: never retry it forever.

        A failed final decode finalizes the segment with the text last shown
        for it, so nothing already transcribed is lost; a failed interim is
        simply dropped (the next refresh covers the same audio).
        Also recovers from a result that failed half-applied: the segment is
        only removed if it is still queued.
        """
        if job.kind is JobKind.SETTLED:
            return []
        if job.kind is JobKind.TRANSLATION:
            self.translations.fail(job)
            return []
        if job.kind is JobKind.REVISION:
            if self.reviser is not None and job.window is not None:
                self.reviser.fail(job.window)
            return []
        if job is self._jobs.in_flight:
            self._jobs.in_flight = None
        elif self._jobs.in_flight is not None:
            raise ValueError("failure for a job this stream did not hand out")
        if job.kind is JobKind.INTERIM:
            return []
        self._segments.finals.drop(job.segment_id)
        return self._settle(job.segment_id, job.segment_start, job.end)

    def _final(self, job: Job, result: DecodeResult, words: list[Word]) -> list[Caption]:
        """Finalize the oldest closed segment with the words of its final decode."""
        finals = self._segments.finals
        if words:
            # a guessed language was not detected by this decode: its
            # interims' confidence in it is what counts
            probability = job.language_probability
            if probability is None:
                probability = result.language_probability
            self._languages.vote(result.language, probability, job.end - job.segment_start)
        before = finals.pop_continued(job.segment_id)
        if before:
            words = drop_repeated_head(before, words)
        finals.pop_oldest()
        self._segments.requeue_uncovered(job.end, words)
        shown = finals.pop_shown(job.segment_id)
        if not words and not shown:
            return []
        words = sentence_case(words, self._context.last)
        caption = self._caption(
            job.segment_id, words, True, job.segment_start, job.end, result.language
        )
        self._context.extend(words)
        if self.reviser is not None:
            self.reviser.add(caption)
        if self.translations.wants(caption):
            start, end = job.segment_start, job.end
            self.translations.add(caption, start, end, self._buffer.slice(start, end))
        return [caption]

    def _settle(self, segment_id: str, start: float, end: float) -> list[Caption]:
        """Finalize a closed segment without a decode: with the text last shown, if any."""
        self._segments.finals.pop_continued(segment_id)
        shown = self._segments.finals.pop_shown(segment_id)
        if not shown:
            return []
        self._context.extend(shown)
        caption = self._caption(segment_id, shown, True, start, end)
        if self.reviser is not None:
            self.reviser.add(caption)
        return [caption]

    def _note_language(self, job: Job, result: DecodeResult) -> None:
        """Count what an interim decode of the open segment detected (if not told the language)."""
        seg = self._segments.open
        open_id = seg.segment_id if seg is not None else None
        if job.request.language is not None or job.segment_id != open_id:
            return
        self._languages.note_interim(
            result.language, result.language_probability, job.end - job.start
        )

    def _caption(
        self,
        seg_id: str,
        words: list[Word],
        final: bool,
        start: float,
        end: float,
        language: str | None = None,
    ) -> Caption:
        if words:
            start, end = words[0].start, words[-1].end
        lang = self.language or language
        return Caption(seg_id, join(words), final, tuple(words), start, end, lang)

    def _trim(self) -> None:
        """Keep only audio that a pending or future decode can still need."""
        unfinal = self._segments.unfinal_start
        keep = unfinal if unfinal is not None else self._gate.onset_from
        keep -= LEFT_CONTEXT_S
        revising = self.reviser.keep_from if self.reviser is not None else None
        if revising is not None:
            keep = min(keep, revising)
        if self._jobs.in_flight is not None:
            keep = min(keep, self._jobs.in_flight.start)
        self._buffer.trim_before(keep)
