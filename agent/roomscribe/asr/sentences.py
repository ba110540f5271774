"""Where the committed words of an open segment are cut into sentences.

A committed sentence end that the speaker talks past closes the segment at
once, so a sentence never waits for the next one: but only at a pause the VAD
heard (word times from a decode are approximate, and a cut must not land in
the middle of a word), and not after a two-word "sentence" ("Dial 1."). A
segment that grows too long without one is cut at its last committed word.

The cutter only says where; the policy closes the segment there. Plain
synchronous code: the VAD is reached through a :data:`PauseFinder`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from roomscribe.asr.events import Word

_SENTENCE_END = re.compile(r"[.?!。？！]['\")\]]*$")

PauseFinder = Callable[[float, float], float | None]
"""``(start, end)`` -> the quietest moment between two times if the VAD heard a pause there."""


def ends_sentence(word: Word) -> bool:
    """The word ends with sentence punctuation (closing quotes and brackets allowed)."""
    return _SENTENCE_END.search(word.text.strip()) is not None


@dataclass(frozen=True, slots=True)
class SentenceOptions:
    """Tuning of sentence cuts (the policy passes its :class:`PolicyOptions` values)."""

    split: bool
    """Cut at a committed sentence end the speaker talked past (else only at ``max_segment_s``)."""
    min_gap_s: float
    """Silence between a sentence end and the next word needed to cut there."""
    min_words: int
    """A shorter sentence is not cut off but stays with the next one."""
    stall_s: float
    """Speech after the last decoded word that means the decoder stopped early."""
    max_segment_s: float
    """Past this, the segment is cut at its last committed word."""


class SentenceCutter:
    """Finds where to close an open segment, after each interim decode."""

    def __init__(self, options: SentenceOptions, pause_between: PauseFinder) -> None:
        self._opts = options
        self._pause_between = pause_between

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
        The latest sentence end with a pause after it wins; failing one, a
        segment past ``max_segment_s`` is cut after its last committed word.
        """
        too_long = segment_s >= self._opts.max_segment_s
        if not self._opts.split and not too_long:
            return None
        cut = self._sentence_cut(committed, tentative, decoded_to)
        if cut is None and too_long and committed:
            following = [*committed, *tentative]
            last = committed[-1]
            nxt = following[len(committed)] if len(following) > len(committed) else None
            cut = (last.end + nxt.start) / 2 if nxt is not None else last.end
        return cut

    def _sentence_cut(
        self, committed: Sequence[Word], tentative: Sequence[Word], decoded_to: float
    ) -> float | None:
        """The pause after the latest committed sentence end the speaker paused after.

        Whisper sometimes stops at a sentence end and ignores the speech after
        it; a committed sentence end followed by ``stall_s`` of undecoded
        speech is cut there too, so the rest gets a window of its own.
        """
        following = [*committed, *tentative]
        cut: float | None = None
        for i, w in enumerate(committed):
            # a sentence end the speaker paused after (a little), not a period
            # Whisper put where the audio happened to stop
            if i + 1 < self._opts.min_words or not ends_sentence(w):
                continue
            nxt = following[i + 1] if i + 1 < len(following) else None
            pause: float | None = None
            if nxt is not None and nxt.start - w.end >= self._opts.min_gap_s:
                pause = self._pause_between(w.end, nxt.start)
            elif nxt is None and decoded_to - w.end >= self._opts.stall_s:
                pause = self._pause_between(w.end, w.end + self._opts.stall_s / 2)
            if pause is not None:
                cut = pause
        return cut


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
