"""The revision pass: re-read already-final speech the way offline Whisper does.

Live finals are decoded sentence by sentence, as soon as the speaker pauses;
that is what makes them fast, and what costs them accuracy against offline
Whisper, which reads 30 s windows holding several sentences with the text
before them as prompt. When the model has nothing live to do, the
:class:`Reviser` of a stream decodes its unrevised final speech that way
(windows of up to ``max_window_s`` cut at segment boundaries, with seconds of
audio before and after the segments heard too, a final decode with beam
search and timestamp tokens as offline Whisper's, the revised text before
it as prompt, the stream's language), maps
the words back to the segments by their times and returns a
revision caption (same ``segment_id``, ``final=True``, ``revision`` n) for
every segment whose text changed. Segments whose text stayed the same are
recorded as confirmed.

Bounded: at most ``keep_s`` of final speech waits for revision. Under
sustained load the pass falls behind and the oldest unrevised segments are
dropped (counted, their live text stands). One window per stream is in flight
at a time, so a segment is never revised twice concurrently.

The reviser never calls a model: :class:`roomscribe.asr.policy.StreamPolicy`
hands out its jobs and the scheduler runs them only when no live work waits.
"""

from __future__ import annotations

import difflib
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

from roomscribe.asr.agreement import after_heard, drop_repeated_head, word_key
from roomscribe.asr.backend import DecodeResult
from roomscribe.asr.events import Caption, Word
from roomscribe.asr.guards import GuardOptions, clean
from roomscribe.asr.merge import MergeOptions, merge

_PROMPT_WORDS = 80
_PROMPT_CHARS = 200
"""Revised text before the window given as prompt."""
_MERGE = MergeOptions()
"""How a segment's revised words and its live words are combined: span by
span, each from the surer reading (:mod:`roomscribe.asr.merge`)."""
_MAX_WORD_RATIO = 1.5
"""A segment whose revised reading has more words than this share of its
live words, plus 2, keeps its live text: live finals lose a word or two, not
half a sentence, so the decoder looped or timed other speech's words inside
the segment."""
_REVIEWED_KEPT = 1000


@dataclass(frozen=True, slots=True)
class RevisionOptions:
    """When and how final speech is re-decoded."""

    enabled: bool = True
    max_window_s: float = 28.0
    """Most audio one revision decode covers (Whisper's window is 30 s)."""
    min_window_s: float = 6.0
    """Unrevised final speech (first segment start to last segment end) that
    makes a revision due; less waits for more context, unless the stream
    paused ``idle_s`` or closes."""
    idle_s: float = 1.5
    """Audio since the last final segment ended that makes a revision due anyway."""
    keep_s: float = 60.0
    """Most final speech kept for revision (from the oldest unrevised segment
    to the newest sample); older unrevised segments are dropped."""
    context_s: float = 10.0
    """Already-revised speech heard again before the window's first segment
    (its words are not changed again): like offline Whisper, every segment is
    read with seconds of audio before it, not from a cold start. The window's
    segments come first: the context gets what they leave of ``max_s``."""
    follow_s: float = 3.0
    """Audio after the window's last segment heard too: offline Whisper reads a
    sentence with the ones after it in the same window, and the encoder uses
    that right context. Its words (from where the next speech starts, a word
    in the pause to the nearer side) are left out. A segment is due once this
    much audio followed it (or the stream closed)."""
    lead_s: float = 0.5
    """Audio before the first segment included in its window (less if the
    previous segment ends sooner): Whisper tends to drop a word said at the
    very start of its audio."""
    min_word_ratio: float = 0.6
    """A revision with fewer words than this share of the live finals' words
    (a decode that stopped early or lost the audio) is not trusted."""
    revise_at_close: bool = True
    """Revise the last window when the stream closes (files: the end of the
    recording). Live streams turn it off: a speaker who leaves must free the
    engine stream at once, and revisions run only when nobody talks, so under
    load the close would wait for a decode that never starts."""


@dataclass(frozen=True, slots=True)
class Reviewed:
    """A segment the revision pass has read again (for the revision lag metric)."""

    segment_id: str
    end: float
    """Stream time the segment's speech ended."""
    changed: bool
    """A revision caption was emitted; else the live text was confirmed."""


@dataclass(slots=True)
class _Final:
    segment_id: str
    start: float
    end: float
    words: tuple[Word, ...]
    text: str
    language: str | None
    revision: int = 0


@dataclass(frozen=True, slots=True)
class RevisionWindow:
    """The segments one revision decode covers (what the reviser has in flight)."""

    segments: tuple[str, ...]
    start: float
    """Where the window's audio starts (a little before its first segment)."""
    end: float
    language: str | None
    """What the live finals of its first segment were tagged with."""
    new_from: float = 0.0
    """Where the segments start; the audio before is already-revised context."""
    heard: tuple[Word, ...] = ()
    """The revised words of that context (matched by text and left out)."""
    new_to: float = float("inf")
    """Where the speech after the segments starts (right context, left out;
    ``inf``: none in the window)."""


class Reviser:
    """The revision pass of one stream (not thread-safe; the policy owns it)."""

    def __init__(self, options: RevisionOptions, guards: GuardOptions | None = None) -> None:
        self._opts = options
        self._guards = guards or GuardOptions()
        self._pending: deque[_Final] = deque()
        """Final segments waiting for revision, oldest first."""
        self._in_flight: tuple[RevisionWindow, list[_Final]] | None = None
        self._history: deque[Word] = deque(maxlen=_PROMPT_WORDS)
        """The latest revised (or confirmed) words: the prompt of the next window."""
        self._reviewed: deque[Reviewed] = deque(maxlen=_REVIEWED_KEPT)
        """For the revision lag metric; bounded, as a live stream never takes them."""
        self._closing = False
        self._reviewed_to = 0.0
        """End of the last segment read again (the next window's lead stops there)."""
        self.revised_segments = 0
        """Segments whose text a revision changed."""
        self.confirmed_segments = 0
        """Segments a revision read again and left unchanged."""
        self.dropped_segments = 0
        """Unrevised segments given up (``keep_s`` exceeded, or left over at close)."""
        self.dropped_s = 0.0
        self.rejected_windows = 0
        """Revision decodes not trusted (far fewer words than the live finals)."""
        self.unaligned_revisions = 0
        """Segment revisions dropped because they did not keep to the segment:
        words timed outside its span, or words added at an edge that the
        neighbouring segment already says (see :func:`crosses_boundary`)."""

    # -- input -----------------------------------------------------------------

    def add(self, caption: Caption) -> None:
        """A live final caption: its segment waits for revision."""
        if not caption.final or not caption.text:
            return
        self._pending.append(
            _Final(
                caption.segment_id,
                caption.start,
                caption.end,
                caption.words,
                caption.text,
                caption.language,
            )
        )
        if self._closing:
            self._keep_last_window()

    def close(self) -> None:
        """End of audio: at most the last window is revised, then nothing.

        Bounded, so closing a stream never waits for a backlog of revisions.
        """
        self._closing = True
        self._keep_last_window()

    def _keep_last_window(self) -> None:
        if not self._opts.revise_at_close:
            while self._pending:
                self._drop(self._pending.popleft())
            return
        latest = self._pending[-1].end if self._pending else 0.0
        while self._pending and latest - self._pending[0].start > self._opts.max_window_s:
            self._drop(self._pending.popleft())

    def cap(self, audio_end: float) -> None:
        """Drop the oldest unrevised segments beyond ``keep_s`` of audio (memory bound)."""
        reach = self._opts.context_s + self._opts.lead_s
        while self._pending and audio_end - self._pending[0].start + reach > self._opts.keep_s:
            self._drop(self._pending.popleft())

    def _drop(self, seg: _Final) -> None:
        self.dropped_segments += 1
        self.dropped_s += seg.end - seg.start

    # -- state -----------------------------------------------------------------

    @property
    def keep_from(self) -> float | None:
        """Earliest stream time whose audio the pass still needs (``None``: none)."""
        if self._in_flight is not None:
            return self._in_flight[0].start
        if not self._pending:
            return None
        return self._pending[0].start - self._opts.context_s - self._opts.lead_s

    @property
    def finished(self) -> bool:
        """Nothing waits for revision and nothing is in flight."""
        return not self._pending and self._in_flight is None

    @property
    def in_flight(self) -> RevisionWindow | None:
        return self._in_flight[0] if self._in_flight is not None else None

    def overdue_s(self, audio_end: float) -> float:
        """Audio since the oldest unrevised segment was followed by its right
        context, as it waits for a window (0: nothing waits, or one is in flight)."""
        if self._in_flight is not None or not self._pending:
            return 0.0
        return max(0.0, audio_end - self._pending[0].end - self._opts.follow_s)

    def take_reviewed(self) -> list[Reviewed]:
        """Segments read again since the last call (revised or confirmed)."""
        out = list(self._reviewed)
        self._reviewed.clear()
        return out

    # -- jobs ------------------------------------------------------------------

    def _reach(self, seg: _Final, audio_end: float) -> float:
        """Where a window ending with ``seg`` ends: ``follow_s`` after it, at most ``audio_end``."""
        return min(audio_end, seg.end + self._opts.follow_s)

    def _ripe(self, seg: _Final, audio_end: float) -> bool:
        """Followed by ``follow_s`` of audio (or the stream ended)."""
        return self._closing or seg.end + self._opts.follow_s <= audio_end

    def due(self, audio_end: float) -> bool:
        """A window is ready: its segments were followed by ``follow_s`` of audio
        and there is enough final speech or a pause, or the stream ended."""
        if self._in_flight is not None or not self._pending:
            return False
        if self._closing:
            return True
        first = self._pending[0]
        if not self._ripe(first, audio_end):
            return False
        last = next(s for s in reversed(self._pending) if self._ripe(s, audio_end))
        return last.end - first.start >= self._opts.min_window_s or (
            audio_end - last.end >= max(self._opts.idle_s, self._opts.follow_s)
        )

    def window(
        self,
        max_s: float | None = None,
        audio_end: float = float("inf"),
        later_speech: float | None = None,
    ) -> tuple[RevisionWindow, str]:
        """Mark the next window in flight; returns it and its prompt.

        Call only when :meth:`due`. The window starts at the oldest unrevised
        segment and takes whole segments followed by ``follow_s`` of audio (by
        ``audio_end``), up to ``max_s`` in all (default ``max_window_s``; at
        least one segment). ``later_speech``: where the stream's speech not yet
        final (or not yet here) starts, if any.
        """
        max_s = self._opts.max_window_s if max_s is None else min(max_s, self._opts.max_window_s)
        if self._in_flight is not None or not self._pending:
            raise RuntimeError("no revision window is ready")
        first = self._pending[0]
        lead = max(first.start - self._opts.lead_s, min(first.start, self._reviewed_to))
        segs: list[_Final] = []
        for seg in self._pending:
            if segs and (
                self._reach(seg, audio_end) - lead > max_s or not self._ripe(seg, audio_end)
            ):
                break
            segs.append(seg)
        for _ in segs:
            self._pending.popleft()
        # the context gets what the segments leave of the window: when the pass
        # is behind (or the window is short), covering speech comes first
        end = self._reach(segs[-1], audio_end)
        context_s = min(self._opts.context_s, max(0.0, max_s - (end - lead)))
        # a word that ends after the lead is heard again whatever the room for
        # context (a revised sentence's last word whose time was stretched into
        # the pause): it must be matched, not taken for the segment's
        heard = [
            w for w in self._history if lead - context_s <= w.start < lead or w.start < lead < w.end
        ]
        start = min(lead, heard[0].start - 0.05) if heard else lead
        # the right context: speech after the segments, whose words are left out
        after = [] if later_speech is None else [later_speech]
        if self._pending:
            after.append(self._pending[0].start)
        # (a sentence cut off mid-utterance starts where the last one ends, or before)
        later = min((t for t in after if t > segs[-1].start), default=float("inf"))
        new_to = max(segs[-1].end, later)
        window = RevisionWindow(
            tuple(s.segment_id for s in segs),
            start,
            max(end, segs[-1].end),
            first.language,
            lead,
            tuple(w for w in heard if w.start >= start),
            new_to if new_to < end else float("inf"),
        )
        self._in_flight = (window, segs)
        before = [w for w in self._history if w.end <= start]
        prompt = "".join(w.text for w in before).strip()[-_PROMPT_CHARS:]
        return window, prompt.strip()

    def apply(self, window: RevisionWindow, result: DecodeResult, offset: float) -> list[Caption]:
        """Take a revision decode (word times relative to ``offset``); returns revision captions."""
        segs = self._take(window)
        words = [
            Word(w.start + offset, w.end + offset, w.text, w.probability) for w in result.words
        ]
        # the context heard again is left out before the guards, which would
        # take a phrase said again for a decoding loop (as the live finals do)
        words = after_heard(window.heard, words, window.new_from)
        # nor is the text before it said again (the decoder repeating its prompt)
        words = drop_repeated_head([w for w in self._history if w.start < window.new_from], words)
        words = clean(replace(result, words=tuple(words)), self._guards)
        spans = [(s.start, s.end) for s in segs]
        if window.new_to < float("inf"):
            # the right context's words go to the speech after the segments, and
            # are left out; a word in the pause goes to the nearer side (the
            # aligner stretches words into pauses, both ways)
            *assigned, _ = assign(words, [*spans, (window.new_to, float("inf"))])
        else:
            assigned = assign(words, spans)
        words = [w for new in assigned for w in new]
        live_words = sum(len(s.words) for s in segs)
        if not words or len(words) < self._opts.min_word_ratio * live_words:
            self.rejected_windows += 1
            return self._confirm(segs)
        last_end = words[-1].end
        captions: list[Caption] = []
        previous = [w for w in self._history if w.end <= segs[0].start + _EDGE_SLACK_S]
        for i, (seg, new) in enumerate(zip(segs, assigned, strict=True)):
            if not new and seg.start >= last_end and i > 0:
                # the decode ended before this segment: it and the ones after
                # it go to the next window
                for rest in reversed(segs[i:]):
                    self._pending.appendleft(rest)
                break
            following = segs[i + 1].words if i + 1 < len(segs) else self._next_words()
            before = segs[i - 1].words if i > 0 else tuple(previous)
            captions += self._review(seg, new, before, following)
        if self._closing:
            # at close, one window only: what it did not reach keeps its live text
            while self._pending:
                self._drop(self._pending.popleft())
        return captions

    def fail(self, window: RevisionWindow) -> None:
        """The revision decode failed: the live text of its segments stands."""
        self._confirm(self._take(window))

    def _take(self, window: RevisionWindow) -> list[_Final]:
        if self._in_flight is None or self._in_flight[0] is not window:
            raise ValueError("result for a revision window this stream did not hand out")
        segs = self._in_flight[1]
        self._in_flight = None
        return segs

    def _next_words(self) -> tuple[Word, ...]:
        """The live words of the segment after the window, if it is final yet."""
        return self._pending[0].words if self._pending else ()

    def _confirm(self, segs: Sequence[_Final]) -> list[Caption]:
        for seg in segs:
            self._review(seg, [])
        return []

    def _review(
        self,
        seg: _Final,
        new: list[Word],
        before: Sequence[Word] = (),
        after: Sequence[Word] = (),
    ) -> list[Caption]:
        """Record a segment read again; a revision caption if its words changed.

        Case and punctuation alone do not count: Whisper writes a sentence
        continued across segments in lower case, which is no better.
        ``before`` / ``after``: the final words of the neighbouring segments;
        a revision that crosses into them is dropped (counted).
        """
        self._reviewed_to = max(self._reviewed_to, seg.end)
        if len(new) > _MAX_WORD_RATIO * len(seg.words) + 2:
            new = []  # a loop, or other speech's words: the live text stands
        new = merge(seg.words, new, _MERGE) if new else []
        if new and crosses_boundary(seg.words, new, before, after, (seg.start, seg.end)):
            self.unaligned_revisions += 1
            new = []
        old_keys, new_keys = _keys(seg.words), _keys(new)
        if (
            not new
            or new_keys == old_keys
            or _same_but_numbers(old_keys, new_keys, seg.language)
            # only words at either end lost: the window's boundary, not a better reading
            or _within(new_keys, old_keys)
        ):
            self.confirmed_segments += 1
            self._history.extend(seg.words)
            self._reviewed.append(Reviewed(seg.segment_id, seg.end, False))
            return []
        self.revised_segments += 1
        self._history.extend(new)
        seg.revision += 1
        self._reviewed.append(Reviewed(seg.segment_id, seg.end, True))
        return [
            Caption(
                seg.segment_id,
                "".join(w.text for w in new).strip(),
                True,
                tuple(new),
                min(w.start for w in new),
                max(w.end for w in new),
                seg.language,
                revision=seg.revision,
            )
        ]


def crosses_boundary(
    live: Sequence[Word],
    revised: Sequence[Word],
    before: Sequence[Word],
    after: Sequence[Word],
    span: tuple[float, float],
) -> bool:
    """A segment's revised words do not keep to the segment.

    Either a word of it lies outside the segment's time span (give or take
    the aligner's stretch), or words it adds at its head repeat the end of
    ``before`` or words it adds at its tail repeat the start of ``after``
    (the neighbouring segments' final words): "...default level." revised
    as "...default level. to reset your speaking volume" while the next
    segment says "To reset your speaking volume...". A revision may change a
    segment's words; it may not move words across its boundaries.
    """
    start, end = span
    if any((w.start + w.end) / 2 < start - _EDGE_SLACK_S for w in revised) or any(
        (w.start + w.end) / 2 > end + _EDGE_SLACK_S for w in revised
    ):
        return True
    return repeats_a_neighbour(
        _edge_keys(live), _edge_keys(revised), _edge_keys(before), _edge_keys(after)
    )


def repeats_a_neighbour(
    old: Sequence[str], new: Sequence[str], before: Sequence[str], after: Sequence[str]
) -> bool:
    """Words ``new`` adds to ``old`` at its head say again the end of ``before``,
    or words it adds at its tail the start of ``after`` (all comparison keys).

    Added at an edge: before the first run ``old`` and ``new`` share, or after
    the last (all of ``new`` if they share none). Said again: two of them in a
    row anywhere in the neighbour's nearest :data:`EDGE_WORDS` words, or a lone
    added word the neighbour's word at that edge.
    """
    blocks = [
        b
        for b in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_matching_blocks()
        if b.size
    ]
    head = new[: blocks[0].b] if blocks else new
    tail = new[blocks[-1].b + blocks[-1].size :] if blocks else new
    return _said_again(head, before[-EDGE_WORDS:], -1) or _said_again(tail, after[:EDGE_WORDS], 0)


def _said_again(added: Sequence[str], neighbour: Sequence[str], edge: int) -> bool:
    if not added or not neighbour:
        return False
    if len(added) == 1:
        return added[0] == neighbour[edge]
    pairs = set(itertools.pairwise(added))
    return any(pair in pairs for pair in itertools.pairwise(neighbour))


_EDGE_SLACK_S = 0.5
"""How far the aligner stretches a word beyond the speech it belongs to."""
EDGE_WORDS = 10
"""Words of a neighbouring segment compared with what a revision adds at an edge."""
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DIGITS = {word: str(i) for i, word in enumerate(_DIGIT_WORDS)}


def _edge_keys(words: Sequence[Word]) -> list[str]:
    """Comparison keys, digits and English digit words alike ("One" / "1")."""
    return [_DIGITS.get(k, k) for k in _keys(words)]


def assign(words: Sequence[Word], spans: Sequence[tuple[float, float]]) -> list[list[Word]]:
    """Give each word to the segment its middle falls in (in a gap: the nearer one)."""
    out: list[list[Word]] = [[] for _ in spans]
    if not spans:
        return out
    for w in words:
        mid = (w.start + w.end) / 2
        best = 0
        for i, (start, end) in enumerate(spans):
            if mid >= start:
                best = i
            if start <= mid < end:
                break
            if mid < start:
                # in the gap before segment i: the nearer of i-1 and i
                best = i - 1 if i > 0 and mid - spans[i - 1][1] < start - mid else i
                break
        out[best].append(w)
    return out


_NUMBER_WORDS: dict[str, frozenset[str]] = {
    code: frozenset(words.split())
    for code, words in {
        "en": "zero oh one two three four five six seven eight nine ten eleven twelve"
        " thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty"
        " forty fifty sixty seventy eighty ninety hundred thousand",
        "fr": "zéro un une deux trois quatre cinq six sept huit neuf dix onze douze"
        " treize quatorze quinze seize vingt trente quarante cinquante soixante cent"
        " cents mille",
        "es": "cero uno una dos tres cuatro cinco seis siete ocho nueve diez once doce"
        " trece catorce quince dieciséis diecisiete dieciocho diecinueve veinte treinta"
        " cuarenta cincuenta sesenta setenta ochenta noventa cien ciento mil",
        "de": "null eins ein eine zwei drei vier fünf sechs sieben acht neun zehn elf"
        " zwölf zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig hundert"
        " tausend",
    }.items()
}


def _same_but_numbers(old: Sequence[str], new: Sequence[str], language: str | None) -> bool:
    """The words differ only in numbers written as digits on one side and as a
    word on the other ("cinco" / "5"): a style, not a better reading (the
    revision's prompt carries the style of the text before it). "4" / "for" is
    a different reading: in a language with a table of number words here, the
    word must be one of them."""
    if len(old) != len(new):
        return False
    numbers = _NUMBER_WORDS.get(language or "")
    pairs = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    return all(
        a.isdigit() != b.isdigit() and (numbers is None or (b if a.isdigit() else a) in numbers)
        for a, b in pairs
    )


def _within(part: Sequence[str], whole: Sequence[str]) -> bool:
    """``part`` is a shorter run of consecutive words of ``whole``."""
    n = len(part)
    return 0 < n < len(whole) and any(whole[i : i + n] == part for i in range(len(whole) - n + 1))


def _keys(words: Sequence[Word]) -> list[str]:
    return [k for k in (word_key(w.text) for w in words) if k]
