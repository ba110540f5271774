"""Where the words of an open segment are cut, so finals never wait for a pause.

A sentence end the speaker talks past closes the segment at once, so a
sentence never waits for the next one: in conversation the next turn often
starts within 0.1-0.3 s, too soon for the VAD to end the utterance. The cut
needs only the latest decode to read a sentence end followed by another word
(agreement is not needed: the closed part gets a final decode of its own
audio) and the VAD to have heard a dip between the two words (word times
from a decode are approximate, and a cut must not land in the middle of a
word). A "sentence" of fewer than ``min_words`` words ("Dial 1.") is cut off
only after a real gap (``min_gap_s``): a turn ("Yes.") is, a prompt's
"Dial 1. Then..." is not.

A segment that grows past ``clause_s`` is also cut at a clause end (comma,
semicolon, colon) with such a dip, and at an agreed sentence end without one
(turns overlap: the next talker starts before the last one ends); past
``max_segment_s`` it is cut whatever
the VAD heard, at its latest committed sentence or clause end, else after its
last committed word, else (the decodes never agreed) after the latest word
read well before the end of the audio, so a final is never more than
``max_segment_s`` of speech late.

The cutter only says where; the policy closes the segment there. Plain
synchronous code: the VAD is reached through a :data:`QuietFinder`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from roomscribe.asr.events import Word

_SENTENCE_END = re.compile(r"[.?!。？！]['\")\]]*$")
_CLAUSE_END = re.compile(r"[,;:、，；：]['\")\]]*$")
_UNSTABLE_TAIL_S = 1.0
"""The last second of a decode is what the next decode most often reads differently."""
_RECENT_CLAUSE_S = 2.0
"""A forced cut goes to a clause end at most this long before the last word."""
_ANYWHERE = 1.01
"""A speech probability above any: the quietest moment, whatever the VAD heard."""

QuietFinder = Callable[[float, float, float], float | None]
"""``(start, end, below)`` -> the quietest moment between two times if its speech
probability is below ``below``, else ``None``."""


def ends_sentence(word: Word) -> bool:
    """The word ends with sentence punctuation (closing quotes and brackets allowed)."""
    return _SENTENCE_END.search(word.text.strip()) is not None


def ends_clause(word: Word) -> bool:
    """The word ends a sentence or a clause (comma, semicolon, colon)."""
    return ends_sentence(word) or _CLAUSE_END.search(word.text.strip()) is not None


@dataclass(frozen=True, slots=True)
class SentenceOptions:
    """Where sentence cuts go (the policy passes ``max_segment_s`` and the VAD's dip level)."""

    max_segment_s: float
    """Past this, the segment is cut whatever the VAD heard."""
    pause_below: float
    """Speech probability under which the VAD heard a dip between two words."""
    min_gap_s: float = 0.1
    """Silence between a short sentence's end and the next word needed to cut
    there (turns in conversation follow each other by 0-0.3 s)."""
    min_words: int = 3
    """A shorter sentence ("Dial 1.") is cut off only after ``min_gap_s`` of silence."""
    stall_s: float = 1.2
    """Speech after the last decoded word that means the decoder stopped early."""
    clause_s: float = 3.0
    """Past this, a clause end with a dip after it is cut too."""


class SentenceCutter:
    """Finds where to close an open segment, after each interim decode."""

    def __init__(self, options: SentenceOptions, quiet: QuietFinder) -> None:
        self._opts = options
        self._quiet = quiet

    def cut_at(
        self,
        committed: Sequence[Word],
        tentative: Sequence[Word],
        *,
        decoded_to: float,
        segment_s: float,
    ) -> float | None:
        """Where to close the segment, or ``None`` to keep it open.

        ``committed`` are the segment's agreed words, ``tentative`` the newest
        decode's words after them, ``decoded_to`` the end of the audio that
        decode heard and ``segment_s`` how long the segment is so far.
        The latest sentence (or clause) end with a dip after it wins; failing
        one, a segment past ``max_segment_s`` is cut anyway (see the module).
        """
        too_long = segment_s >= self._opts.max_segment_s
        cut = self._sentence_cut(committed, tentative, decoded_to, segment_s)
        if cut is None and too_long:
            cut = self._forced_cut(committed, tentative, decoded_to)
        return cut

    def _sentence_cut(
        self,
        committed: Sequence[Word],
        tentative: Sequence[Word],
        decoded_to: float,
        segment_s: float,
    ) -> float | None:
        """The dip after the latest sentence end the speaker went on after.

        Whisper sometimes stops at a sentence end and ignores the speech after
        it; a committed sentence end followed by ``stall_s`` of undecoded
        speech is cut there too, so the rest gets a window of its own.
        """
        following = [*committed, *tentative]
        ends = ends_clause if segment_s >= self._opts.clause_s else ends_sentence
        below = self._opts.pause_below
        for i in range(len(following) - 1, -1, -1):
            w = following[i]
            if not ends(w):
                continue
            nxt = following[i + 1] if i + 1 < len(following) else None
            if nxt is None:
                if i < len(committed) and decoded_to - w.end >= self._opts.stall_s:
                    cut = self._quiet(w.end, w.end + self._opts.stall_s / 2, below)
                    if cut is not None:
                        return cut
                continue
            gap = nxt.start - w.end
            if i + 1 < self._opts.min_words and gap < self._opts.min_gap_s:
                continue  # "Dial 1. Then...": a short sentence needs a real pause
            # in a long segment an agreed sentence end is cut even without a dip:
            # the next talker started before this one finished
            overlapped = segment_s >= self._opts.clause_s and i < len(committed)
            anywhere = _ANYWHERE if overlapped and ends_sentence(w) else below
            cut = self._between(w, nxt, anywhere)
            if cut is not None:
                return cut
        return None

    def _between(self, word: Word, nxt: Word, below: float) -> float | None:
        """The quietest moment from just before ``word`` ends to just after ``nxt`` starts."""
        return self._quiet(word.end - 0.1, nxt.start + 0.1, below)

    def _forced_cut(
        self, committed: Sequence[Word], tentative: Sequence[Word], decoded_to: float
    ) -> float | None:
        """Where a segment past ``max_segment_s`` is cut: see the module."""
        following = [*committed, *tentative]
        last = len(committed) - 1
        if last < 0:
            # the decodes never agreed (if this one read the whole long segment):
            # the latest word read well before the end
            if not tentative or decoded_to - tentative[0].start < self._opts.max_segment_s:
                return None
            steady = [i for i, w in enumerate(tentative) if w.end <= decoded_to - _UNSTABLE_TAIL_S]
            if not steady:
                return None
            last = steady[-1]
        # a clause end near the last word, not one that would leave most of the
        # segment open again
        recent = following[last].end - _RECENT_CLAUSE_S
        clause = [i for i in range(last + 1) if ends_clause(following[i])]
        i = clause[-1] if clause and following[clause[-1]].end >= recent else last
        w = following[i]
        nxt = following[i + 1] if i + 1 < len(following) else None
        if nxt is None:
            return w.end
        return self._between(w, nxt, _ANYWHERE) or (w.end + nxt.start) / 2


def sentence_case(words: list[Word], previous: Word | None) -> list[Word]:
    """Capitalize a final that starts a sentence (``previous`` ended one).

    Whisper continuing the context it heard writes "so you're having
    problems." in lower case even when the sentence before has ended.
    """
    if not words or previous is None or not ends_sentence(previous):
        return words
    first = words[0]
    text = first.text.lstrip()
    if not text[:1].islower():
        return words
    lead = first.text[: len(first.text) - len(text)]
    return [replace(first, text=lead + text[0].upper() + text[1:]), *words[1:]]
