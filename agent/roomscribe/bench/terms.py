"""Term recall: how many of the vocabulary's spoken occurrences a transcript got right.

WER weighs an acronym like any other word, so a vocabulary that fixes the
three product names of a call barely moves it. Term recall counts only them:
for each term, its occurrences in the reference and in the transcript (both
through the same normalizer as WER, so case and punctuation do not matter and
a multi-word term is a run of words); an occurrence is recalled up to the
number the reference holds. Occurrences beyond that are counted as extra: a
vocabulary that makes the model write a term where nobody said it shows up
there, not as a better recall.

It counts, it does not align: a transcript that misses a term in one sentence
and writes it twice in another scores like one that got both right. The extra
count and WER show that case; per-term counts show where.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from roomscribe.bench.metrics import normalizer, words


@dataclass(frozen=True, slots=True)
class TermCount:
    term: str
    said: int
    """Occurrences in the reference."""
    written: int
    """Occurrences in the transcript."""

    @property
    def recalled(self) -> int:
        return min(self.said, self.written)

    @property
    def extra(self) -> int:
        return max(0, self.written - self.said)


@dataclass(frozen=True, slots=True)
class TermRecall:
    counts: tuple[TermCount, ...]

    @property
    def said(self) -> int:
        return sum(c.said for c in self.counts)

    @property
    def recalled(self) -> int:
        return sum(c.recalled for c in self.counts)

    @property
    def extra(self) -> int:
        return sum(c.extra for c in self.counts)

    @property
    def recall(self) -> float:
        """Share of the terms' spoken occurrences in the transcript (``nan``: none spoken)."""
        return self.recalled / self.said if self.said else float("nan")

    @property
    def missed(self) -> tuple[str, ...]:
        """Terms with spoken occurrences the transcript lacks."""
        return tuple(c.term for c in self.counts if c.recalled < c.said)


def term_recall(
    reference: str, transcript: str, terms: Sequence[str], language: str | None = "en"
) -> TermRecall:
    """Count each term's occurrences in ``reference`` and ``transcript``."""
    norm = normalizer(language)
    ref, hyp = words(reference, norm), words(transcript, norm)
    counts = []
    for term in terms:
        seq = words(term, norm)
        counts.append(TermCount(term, occurrences(seq, ref), occurrences(seq, hyp)))
    return TermRecall(tuple(counts))


def occurrences(seq: Sequence[str], text: Sequence[str]) -> int:
    """Non-overlapping occurrences of the word run ``seq`` in ``text``."""
    if not seq:
        return 0
    n, i, found = len(seq), 0, 0
    while i + n <= len(text):
        if list(text[i : i + n]) == list(seq):
            found += 1
            i += n
        else:
            i += 1
    return found
