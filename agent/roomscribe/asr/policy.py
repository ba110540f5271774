"""The streaming policy of one audio stream: VAD gate + LocalAgreement.

Audio is cut into utterances by Silero VAD; nothing is decoded on silence.
While someone speaks, the open segment is re-decoded every
``interim_interval_s`` of new audio (interim captions) and LocalAgreement
commits what consecutive decodes agree on. A sentence end the speaker talks
past closes the segment at once (where the VAD heard a dip between the words,
however short), and a segment past ``max_segment_s`` is cut anyway, so a
final never waits for a pause that conversation does not leave; a pause
closes it too. A closed segment gets one final decode of its audio
(padded to a long encoder window), hearing the last few seconds of final words
before it again as context when the model is not busy. Either way the decoded
window restarts, so the work per decode stays bounded however long the stream
runs. Where sentences are cut is decided in :mod:`roomscribe.asr.sentences`,
the stream's language in :mod:`roomscribe.asr.language_vote`; the open segment
and the speaker's pace are kept in :mod:`roomscribe.asr.utterance`.

The policy never calls a model itself: it hands out
:class:`~roomscribe.asr.jobs.Job` objects and takes their results back, so one
scheduler can share one model among many streams (see
:mod:`roomscribe.asr.scheduler`).

Overload: when the model cannot keep up, closed segments queue for their final
decode and their audio is kept. Past ``max_pending_s`` of such audio the
oldest waiting segments are finalized at once with the text last shown for
them (no decode): the captions stay current, memory and the finals backlog stay
bounded, and what is lost is only speech that was never shown. The waiting
segments are kept by :mod:`roomscribe.asr.finals`.
"""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.agreement import LocalAgreement, after_heard, drop_repeated_head
from roomscribe.asr.backend import DecodeRequest, DecodeResult
from roomscribe.asr.buffer import AudioBuffer
from roomscribe.asr.events import Caption, Word
from roomscribe.asr.finals import ClosedSegment, FinalQueue
from roomscribe.asr.guards import GuardOptions, clean
from roomscribe.asr.jobs import Job, JobKind
from roomscribe.asr.language_vote import LanguageGuess, LanguageVote, LanguageVoteOptions
from roomscribe.asr.revision import Reviser, RevisionOptions
from roomscribe.asr.sentences import SentenceCutter, SentenceOptions, sentence_case
from roomscribe.asr.translation import Translations
from roomscribe.asr.utterance import OpenSegment, SpeakerPace
from roomscribe.asr.vad import StreamingVad, VadModel, VadOptions

_HISTORY_WORDS = 80


@dataclass(frozen=True, slots=True)
class PolicyOptions:
    """Tuning of the streaming policy; defaults are what the benchmark measures."""

    vad: VadOptions = field(default_factory=VadOptions)
    guards: GuardOptions = field(default_factory=GuardOptions)
    revision: RevisionOptions = field(default_factory=RevisionOptions)
    language: str | None = None
    """Language code; ``None`` detects it once per stream."""
    vocabulary: tuple[str, ...] = ()
    """Terms likely to be spoken (names, product words, acronyms), given to
    every decode of the stream (see :attr:`DecodeRequest.vocabulary`)."""
    lock_language_probability: float = 0.6
    """A final decode's detected language this sure counts as a vote for the stream's
    language (see :mod:`roomscribe.asr.language_vote`)."""
    min_language_audio_s: float = 2.0
    """Less speech is never used to detect the language (a 0.3 s "Hello?" came
    out as Korean): while the stream's language is unknown it is decoded in
    the language its votes lean to, else English, and does not vote."""
    interim_interval_s: float = 0.5
    """New audio needed before the open segment is re-decoded."""
    min_interim_s: float = 0.5
    """Segments shorter than this get no interim decode."""
    split_sentences: bool = True
    """Close a segment at a sentence end the speaker talked past (see
    :mod:`roomscribe.asr.sentences`)."""
    min_sentence_gap_s: float = 0.1
    """Silence after a short sentence's end needed to split there (turns in
    conversation follow each other by 0-0.3 s)."""
    min_sentence_words: int = 3
    """A shorter sentence ("Dial 1.") is split off only after ``min_sentence_gap_s``."""
    stall_s: float = 1.2
    """Speech after the last decoded word that means the decoder stopped early."""
    requeue_s: float = 2.0
    """Undecoded speech after a final decode's last word that gets its own decode."""
    max_segment_s: float = 6.0
    """Past this, the segment is cut whatever the VAD heard: at its last
    sentence or clause end, else its last committed word (conversation
    rarely pauses long enough for the VAD: finals came 6-10 s late with 10 s)."""
    hard_max_segment_s: float = 12.0
    """Past this, the segment is closed whatever was decoded."""
    tail_pad_s: float = 0.2
    """Silence after an utterance included in its final decode."""
    prompt_chars: int = 600
    """Finalized text of the stream passed to the model as context: more than
    the backend's token budget takes (``WhisperOptions.prompt_tokens``), so
    once a stream has that much history its prompt is exactly that long.
    CTranslate2 batches only prompts of one length; with 200 characters (40-48
    tokens, varying) the decodes of speakers who said different things split
    into one call per stream."""
    left_context_s: float = 3.0
    """Already-final speech heard again before a segment in its final decode.

    Whisper hears a segment that starts mid-sentence ("...or 8 for more
    options") much better with the words before it; only words after the
    segment start are kept from such a decode."""
    max_context_segment_s: float = 5.0
    """A longer segment is decoded without left context: it carries its own,
    and decoding the context again would only make its final later."""
    max_pending_s: float = 30.0
    """Audio awaiting a final decode (from the start of the oldest waiting
    segment to the newest sample) past this: the oldest waiting segments are
    finalized with the text last shown for them, without a decode. Above
    ``hard_max_segment_s`` plus a final decode's usual wait, so one long
    sentence at normal load never reaches it."""

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
        self._vad = StreamingVad(vad_model, self._opts.vad)
        self._buffer = AudioBuffer()
        self._prefix = f"{stream_id}-" if stream_id else ""
        self._ids = itertools.count()
        self._finals = FinalQueue(self._opts.max_pending_s)
        self._open: OpenSegment | None = None
        self._agreement = LocalAgreement()
        self._history: deque[Word] = deque(maxlen=_HISTORY_WORDS)
        """The latest final words: decoding context (prompt and left audio)."""
        self._languages = LanguageVote(
            LanguageVoteOptions(
                lock_probability=self._opts.lock_language_probability,
                min_audio_s=self._opts.min_language_audio_s,
            ),
            self._opts.language,
        )
        self._sentences = SentenceCutter(
            SentenceOptions(
                split=self._opts.split_sentences,
                min_gap_s=self._opts.min_sentence_gap_s,
                min_words=self._opts.min_sentence_words,
                stall_s=self._opts.stall_s,
                max_segment_s=self._opts.max_segment_s,
                pause_below=self._opts.vad.neg_threshold,
            ),
            # not a bound method of the policy: that cycle kept a closed stream's
            # buffers until the cyclic GC's rare full collection
            functools.partial(_quiet_between, self._vad),
        )
        self.vocabulary = self._opts.vocabulary
        """Terms every decode of this stream is given (see :meth:`set_vocabulary`)."""
        self._in_flight: Job | None = None
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
        self._pace = SpeakerPace()

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

    def set_vocabulary(self, terms: tuple[str, ...]) -> None:
        """Replace the stream's vocabulary; decodes handed out from now on use it."""
        self.vocabulary = tuple(terms)

    def feed(self, audio: NDArray[np.float32]) -> None:
        """Append 16 kHz mono float32 audio and run the VAD over it."""
        if self._closing:
            raise RuntimeError("stream is closed")
        self._buffer.append(audio)
        for event in self._vad.feed(audio):
            if event.speaking:
                if self._open is None:
                    self._open_segment(max(event.time, self._buffer.start))
            elif self._open is not None:
                self._close_open_segment(event.time + self._opts.tail_pad_s)
        self._cap_open_segment()
        if self.reviser is not None:
            self.reviser.cap(self._buffer.end)
        self._trim()

    def end_utterance(self) -> None:
        """The audio stopped (muted mic, stalled network): finalize what was said so far."""
        if self._open is not None and not self._closing:
            self._close_open_segment(self._buffer.end)

    def close(self) -> None:
        """End of audio: the open segment gets its final decode."""
        if self._closing:
            return
        self._closing = True
        if self._open is not None:
            self._close_open_segment(self._buffer.end)
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
            and not self._finals
            and self._in_flight is None
            and (self.reviser is None or self.reviser.finished)
            and self.translations.finished
        )

    # -- jobs ------------------------------------------------------------------

    @property
    def silent_s(self) -> float:
        """Stream seconds since this speaker's speech last ended (0 while an
        utterance is open; ``inf`` if it never spoke)."""
        if self._open is not None:
            return 0.0
        return self._pace.silent_s(self._buffer.end)

    @property
    def finalizing(self) -> bool:
        """A closed segment waits for (or is in) its final decode."""
        return bool(self._finals)

    @property
    def final_wait_s(self) -> float:
        """Audio received since the oldest segment awaiting its final closed.

        Audio arrives in real time, so this is how long that final has been
        waiting (in stream time, which replay and live share): the stream's
        lag behind its speaker.
        """
        oldest = self._finals.oldest
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
        start = self._unfinal_start
        return 0.0 if start is None else self._buffer.end - start

    @property
    def _unfinal_start(self) -> float | None:
        """Where the oldest speech without its final starts: the oldest closed
        segment (closed segments precede the open one), else the open one."""
        oldest = self._finals.oldest
        if oldest is not None:
            return oldest.start
        return self._open.start if self._open is not None else None

    @property
    def revision_overdue_s(self) -> float:
        """How long this stream's oldest unrevised speech has been due (0: none)."""
        return 0.0 if self.reviser is None else self.reviser.overdue_s(self._buffer.end)

    @property
    def short_segment_s(self) -> float:
        """How long this speaker's shorter segments last: the first quartile of
        the latest ones (0 until a few were seen). A segment open for less than
        this minus a decode is unlikely to end during it."""
        return self._pace.short_segment_s

    @property
    def capped_segments(self) -> int:
        """Segments finalized without a decode because of ``max_pending_s``."""
        return self._finals.capped_segments

    @property
    def capped_s(self) -> float:
        """Seconds of audio those segments spanned."""
        return self._finals.capped_s

    def settled_job(self) -> Job | None:
        """Apply the audio cap; a :attr:`JobKind.SETTLED` job carrying what it finalized.

        Called between decodes (never while this stream has a job in flight).
        O(1) unless the cap is exceeded.
        """
        first = self._finals.oldest
        if self._in_flight is not None or first is None:
            return None
        end = self._buffer.end
        if not self._finals.over_cap(end):
            return None
        captions: list[Caption] = []
        last = first
        for seg in self._finals.pop_capped(end):
            last = seg
            captions += self._settle(seg.segment_id, seg.start, seg.end)
        self._trim()
        return Job(
            JobKind.SETTLED,
            last.segment_id,
            first.start,
            last.end,
            DecodeRequest(audio=np.zeros(0, dtype=np.float32)),
            first.start,
            captions=tuple(captions),
        )

    def _settle(self, segment_id: str, start: float, end: float) -> list[Caption]:
        """Finalize a closed segment without a decode: with the text last shown, if any."""
        self._finals.pop_continued(segment_id)
        shown = self._finals.pop_shown(segment_id)
        if not shown:
            return []
        self._history.extend(shown)
        caption = self._caption(segment_id, shown, True, start, end)
        if self.reviser is not None:
            self.reviser.add(caption)
        return [caption]

    def give_up(self) -> Job:
        """Decoding this stream keeps failing: finalize everything with the text shown, and close.

        Returns a :attr:`JobKind.SETTLED` job carrying those finals; afterwards
        the stream is :attr:`done` and :attr:`failed`.
        """
        self.failed = True
        self._closing = True
        self._in_flight = None
        self.reviser = None
        if self._open is not None:
            self._close_open_segment(self._buffer.end)
        captions: list[Caption] = []
        start = end = self._buffer.end
        for seg in self._finals.drain():
            start, end = min(start, seg.start), seg.end
            captions += self._settle(seg.segment_id, seg.start, seg.end)
        return Job(
            JobKind.SETTLED,
            "",
            start,
            end,
            DecodeRequest(audio=np.zeros(0, dtype=np.float32)),
            start,
            captions=tuple(captions),
        )

    def final_job(self, *, context: bool = True, sharing: int = 1) -> Job | None:
        """The oldest closed segment's final decode, if any (takes priority).

        With ``context``, the decode also hears the final words just before
        the segment (see :attr:`PolicyOptions.left_context_s`). ``sharing``:
        the streams that share the model now (see :attr:`DecodeRequest.sharing`).
        """
        seg = self._finals.oldest
        if self._in_flight is not None or seg is None:
            return None
        long = seg.end - seg.start > self._opts.max_context_segment_s
        heard = self._heard_before(seg.start) if context and not long else ()
        return self._hand_out(
            JobKind.FINAL, seg.segment_id, seg.start, seg.end, heard, seg.language, sharing
        )

    def _heard_before(self, segment_start: float) -> tuple[Word, ...]:
        """The final words of the last ``left_context_s`` before a segment (a tail of history)."""
        earliest = max(self._buffer.start, segment_start - self._opts.left_context_s)
        n = 0
        for w in reversed(self._history):
            if w.start < earliest or w.end > segment_start + 0.05:
                break
            n += 1
        return tuple(itertools.islice(self._history, len(self._history) - n, None))

    def revision_job(self, max_window_s: float | None = None) -> Job | None:
        """Re-decode a window of final speech, if one is due (lowest priority);
        ``max_window_s`` bounds its audio (and so its decode time)."""
        reviser = self.reviser
        if reviser is None or not reviser.due(self._buffer.end):
            return None
        window, prompt = reviser.window(max_window_s, self._buffer.end, self._unfinal_start)
        start = max(self._buffer.start, window.start)
        request = DecodeRequest(
            audio=self._buffer.slice(start, window.end),
            prompt=prompt,
            language=self.language or window.language,
            final=True,
            vocabulary=self.vocabulary,
            long_form=True,
        )
        return Job(
            JobKind.REVISION, window.segments[0], start, window.end, request, start, window=window
        )

    @property
    def speaking(self) -> bool:
        """An utterance is open (interim refreshes may be wanted)."""
        return self._open is not None

    def interim_job(self, slowdown: float = 1.0, *, hold_at_pause: bool = True) -> Job | None:
        """A refresh of the open segment, if enough new audio arrived.

        ``slowdown`` stretches the refresh interval when many streams share
        the model, leaving compute for final decodes. With ``hold_at_pause``
        no refresh starts while the VAD hears a pause beginning: the segment
        may close within ``min_silence_s``, and a refresh started then would
        hold up its final decode.
        """
        seg = self._open
        if self._in_flight is not None or self._finals or seg is None:
            return None
        end = self._buffer.end
        interval_s = self._opts.interim_interval_s * slowdown
        if not seg.refresh_due(end, min_s=self._opts.min_interim_s, interval_s=interval_s):
            return None
        if hold_at_pause and self._vad.pausing:
            return None
        seg.refreshed_to = end
        return self._hand_out(JobKind.INTERIM, seg.segment_id, seg.start, end)

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
        speech (Spanish heard as Indonesian). Speech too short to detect a
        language on is decoded in the stream's leaning or fallback language
        (see :meth:`LanguageVote.for_decode`).
        """
        audio_start = max(self._buffer.start, heard[0].start - 0.05) if heard else start
        earlier = list(itertools.islice(self._history, len(self._history) - len(heard)))
        language, probability = self._languages.for_decode(end - start, guess)
        request = DecodeRequest(
            audio=self._buffer.slice(audio_start, end),
            prompt=prompt_text(earlier, self._opts.prompt_chars),
            language=language,
            final=kind is JobKind.FINAL,
            context_s=start - audio_start,
            context_text=_join(list(heard)),
            vocabulary=self.vocabulary,
            sharing=sharing,
        )
        job = Job(kind, segment_id, audio_start, end, request, start, heard, probability)
        self._in_flight = job
        return job

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
        if job is not self._in_flight:
            raise ValueError("result for a job this stream did not hand out")
        self._in_flight = None
        decoded = [
            Word(w.start + job.start, w.end + job.start, w.text, w.probability)
            for w in result.words
        ]
        if job.kind is JobKind.FINAL:
            # a word that starts at the very end of the window belongs to the next
            # segment; the context heard again is not part of this one (and is
            # left out before the guards, which would take a phrase said
            # again for a decoding loop)
            decoded = [w for w in decoded if w.start < job.end - 0.05]
            decoded = after_heard(job.heard, decoded, job.segment_start)
        words = clean(replace(result, words=tuple(decoded)), self._opts.guards)
        if job.kind is JobKind.FINAL:
            if words:
                # a guessed language was not detected by this decode: its
                # interims' confidence in it is what counts
                probability = job.language_probability
                if probability is None:
                    probability = result.language_probability
                self._languages.vote(result.language, probability, job.end - job.segment_start)
            before = self._finals.pop_continued(job.segment_id)
            if before:
                words = drop_repeated_head(before, words)
            self._finals.pop_oldest()
            self._requeue_uncovered(job, words)
            captions = self._finalize(
                job.segment_id, job.segment_start, job.end, words, result.language
            )
        else:
            self._note_language(job, result)
            captions = self._interim(job, words)
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
        if job is self._in_flight:
            self._in_flight = None
        elif self._in_flight is not None:
            raise ValueError("failure for a job this stream did not hand out")
        if job.kind is JobKind.INTERIM:
            return []
        self._finals.drop(job.segment_id)
        return self._settle(job.segment_id, job.segment_start, job.end)

    def _requeue_uncovered(self, job: Job, words: list[Word]) -> None:
        """If the decode stopped long before the segment's audio ended, decode the rest.

        Whisper sometimes ends its output after a sentence and ignores seconds
        of speech that follow; that speech gets a final decode of its own (a
        new segment) instead of being lost.
        """
        if not words:
            return
        covered = words[-1].end
        if job.end - self._opts.tail_pad_s - covered < self._opts.requeue_s:
            return
        rest = ClosedSegment(f"{self._prefix}{next(self._ids)}", covered + 0.05, job.end)
        self._finals.requeue(rest, words)

    def _note_language(self, job: Job, result: DecodeResult) -> None:
        """Count what an interim decode of the open segment detected (if not told the language)."""
        open_id = self._open.segment_id if self._open is not None else None
        if job.request.language is not None or job.segment_id != open_id:
            return
        self._languages.note_interim(
            result.language, result.language_probability, job.end - job.start
        )

    # -- segments --------------------------------------------------------------

    def _open_segment(self, start: float) -> None:
        self._open = OpenSegment(f"{self._prefix}{next(self._ids)}", start)
        self._agreement.reset(start)
        self._languages.start_segment()

    def _close_open_segment(self, end: float) -> None:
        seg = self._open
        assert seg is not None
        self._finals.add(
            ClosedSegment(seg.segment_id, seg.start, end, self._languages.segment_guess()),
            seg.shown,
        )
        self._pace.segment_closed(seg.start, end)
        self._open = None

    def _cap_open_segment(self) -> None:
        """Close segments that grew past the hard limit (no pause, no committed words)."""
        if self._open is None:
            return
        if self._buffer.end - self._open.start >= self._opts.hard_max_segment_s:
            end = self._buffer.end
            self._close_open_segment(end)
            self._open_segment(end)

    def _interim(self, job: Job, words: list[Word]) -> list[Caption]:
        seg = self._open
        if seg is None or job.segment_id != seg.segment_id:
            return []  # the segment was closed meanwhile; its final decode is queued
        seg.committed += self._agreement.insert(words)
        tentative = self._agreement.tentative
        if self._split_committed(seg, tentative, job.end):
            return []
        shown = seg.committed + tentative
        text = _join(shown)
        if text and text != _join(seg.shown):
            seg.shown = shown
            return [self._caption(seg.segment_id, shown, False, seg.start, job.end)]
        return []

    def _split_committed(self, seg: OpenSegment, tentative: list[Word], decoded_to: float) -> bool:
        """Close the segment where the sentence cutter says (see :mod:`roomscribe.asr.sentences`).

        The closed part gets a final decode of just its audio, like a pause
        would; the committed words before the cut are what the rest continues.
        """
        cut_at = self._sentences.cut_at(
            seg.committed,
            tentative,
            decoded_to=decoded_to,
            segment_s=self._buffer.end - seg.start,
        )
        if cut_at is None:
            return False
        before = [w for w in (*seg.committed, *tentative) if w.end <= cut_at]
        self._close_open_segment(cut_at)
        self._open_segment(cut_at)
        assert self._open is not None
        self._finals.continue_after(self._open.segment_id, before)
        return True

    def _finalize(
        self, seg_id: str, start: float, end: float, words: list[Word], language: str
    ) -> list[Caption]:
        shown = self._finals.pop_shown(seg_id)
        if not words and not shown:
            return []
        words = sentence_case(words, self._history[-1] if self._history else None)
        caption = self._caption(seg_id, words, True, start, end, language)
        self._history.extend(words)
        if self.reviser is not None:
            self.reviser.add(caption)
        if self.translations.wants(caption):
            self.translations.add(caption, start, end, self._buffer.slice(start, end))
        return [caption]

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
        return Caption(seg_id, _join(words), final, tuple(words), start, end, lang)

    def _trim(self) -> None:
        """Keep only audio that a pending or future decode can still need."""
        unfinal = self._unfinal_start
        if unfinal is not None:
            keep = unfinal
        else:
            # a speech onset is reported a little after it happened, padded before
            vad = self._opts.vad
            keep = self._vad.processed_s - (vad.pad_s + vad.min_speech_s + 0.1)
        keep -= self._opts.left_context_s
        revising = self.reviser.keep_from if self.reviser is not None else None
        if revising is not None:
            keep = min(keep, revising)
        if self._in_flight is not None:
            keep = min(keep, self._in_flight.start)
        self._buffer.trim_before(keep)


def _join(words: list[Word]) -> str:
    return "".join(w.text for w in words).strip()


def prompt_text(history: Sequence[Word], chars: int) -> str:
    """The decoder context of a stream: the last ``chars`` characters of its final words."""
    return _join(list(history))[-chars:].strip()


def _quiet_between(vad: StreamingVad, start: float, end: float, below: float) -> float | None:
    """The quietest moment between two words, if the VAD heard less speech there than ``below``.

    Word times from a decode are approximate; cutting where the VAD measured
    the least speech keeps a cut out of the middle of a word.
    """
    quiet = vad.quietest(start, end)
    if quiet is None or quiet[1] >= below:
        return None
    return quiet[0]
