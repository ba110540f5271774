"""LocalAgreement: commit what two consecutive hypotheses agree on.

The idea of ``HypothesisBuffer`` in ufal/whisper_streaming: every new decode of
the growing utterance is compared with the previous one; their longest common
prefix (after the words already committed) is committed. Words are compared
case- and punctuation-insensitively, and the newest spelling is kept, so a
sentence-ending period seen only in the newer decode is committed with it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from roomscribe.asr.events import Word

_NON_WORD = re.compile(r"[^\w']+")
_MAX_NGRAM = 5
_OVERLAP_WINDOW_S = 1.0
_TIME_SLACK_S = 0.1
_GLUE = ("'", "’")
"""A word opening with one of these (no space) continues the word before it."""


def word_key(text: str) -> str:
    """Comparison key of a word: lower case, punctuation removed."""
    return _NON_WORD.sub("", text.lower())


class LocalAgreement:
    """Tracks committed and tentative words of one stream (absolute times)."""

    def __init__(self) -> None:
        self._committed_end = 0.0
        self._committed_tail: list[Word] = []
        self._previous: list[Word] = []

    @property
    def committed_end(self) -> float:
        return self._committed_end

    @property
    def tentative(self) -> list[Word]:
        """Words of the latest hypothesis after the committed ones."""
        return list(self._previous)

    def insert(self, words: Sequence[Word]) -> list[Word]:
        """Add a new hypothesis; returns the words it newly commits."""
        new = [w for w in words if w.start > self._committed_end - _TIME_SLACK_S]
        new = self._drop_overlap(new)
        committed: list[Word] = []
        for old, cur in zip(self._previous, new, strict=False):
            if word_key(old.text) != word_key(cur.text):
                break
            committed.append(cur)
        self._previous = new[len(committed) :]
        if committed:
            self._committed_end = committed[-1].end
            self._committed_tail = (self._committed_tail + committed)[-_MAX_NGRAM:]
        return committed

    def reset(self, time: float) -> None:
        """Forget the tentative words; nothing before ``time`` will be committed."""
        self._previous = []
        self._committed_end = max(self._committed_end, time)

    def _drop_overlap(self, new: list[Word]) -> list[Word]:
        # A decode that starts before the committed end may repeat its last
        # words with slightly earlier times; drop the repeated n-gram.
        if not new or not self._committed_tail:
            return new
        if abs(new[0].start - self._committed_end) > _OVERLAP_WINDOW_S:
            return new
        return drop_repeated_head(self._committed_tail, new)


def drop_repeated_head(
    before: Sequence[Word], words: Sequence[Word], max_n: int = _MAX_NGRAM
) -> list[Word]:
    """``words`` without a leading n-gram that repeats the end of ``before``.

    A window that starts where an earlier one ended may hear the last word(s)
    again (word times are approximate); they must not be captioned twice.
    """
    tail = [word_key(w.text) for w in before]
    head = [word_key(w.text) for w in words]
    for n in range(min(len(tail), len(head), max_n), 0, -1):
        if tail[-n:] == head[:n]:
            return list(words[n:])
    return list(words)


def after_heard(heard: Sequence[Word], words: Sequence[Word], boundary: float) -> list[Word]:
    """The words of a decode that come after already transcribed speech.

    ``heard`` is what was transcribed from the start of the decoded audio up
    to ``boundary``; the decode hears it again as context. Its words are
    matched by text, which is exact where word times are not (the aligner
    likes to stretch a word after a pause back into the silence). A last
    heard word spelled differently this time ("voz" / "vos") is skipped if
    it lies before ``boundary``. If the heard words cannot be found at the
    start of the decode, word times decide: a word is new if most of it
    lies after ``boundary``.
    """
    if heard:
        old = [word_key(w.text) for w in heard]
        new = [word_key(w.text) for w in words]
        matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
        for block in reversed(matcher.get_matching_blocks()):
            # the heard words open the decode (give or take a word or two)
            if not block.size or abs(block.b - block.a) > 2:
                continue
            rest = list(words[block.b + block.size :])
            if block.a + block.size == len(old):
                return _unglued(rest)
            if block.a + block.size == len(old) - 1 and len(old) > 2:
                # the last heard word split in two this time ("prepending" /
                # "pre" "-pending.")
                split = _split_word(old[-1], new[block.b + block.size :])
                if split:
                    return _unglued(rest[split:])
                return _unglued(rest[1:]) if rest and _centre(rest[0]) < boundary else rest
    after = [w for w in words if _centre(w) >= boundary]
    return after if after[:1] == list(words[:1]) else _unglued(after)


def _split_word(key: str, keys: Sequence[str]) -> int:
    """How many of ``keys`` (two or more) spell ``key`` together; 0 if none do."""
    joined = ""
    for n, k in enumerate(keys, 1):
        joined += k
        if joined == key:
            return n if n > 1 else 0
        if not key.startswith(joined):
            return 0
    return 0


def _unglued(words: Sequence[Word]) -> list[Word]:
    """``words`` without those at its head glued to the word before them (an
    apostrophe and no space: French "dies" "'èse." for "dièse."): they are the
    rest of the last heard word, not new speech."""
    n = 0
    while n < len(words) and words[n].text.startswith(_GLUE):
        n += 1
    return list(words[n:])


def _centre(word: Word) -> float:
    return (word.start + word.end) / 2
