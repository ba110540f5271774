"""Word error rate of a caption transcript recorded from Chromium's looping fake mic.

Chromium plays the fake-mic WAV in a loop from the moment the page opens the
microphone, and the captioner starts listening a little later, so the
transcript covers an unknown stretch of the looped reference. The reference is
therefore repeated and the hypothesis aligned to its best-matching contiguous
window (free start and end in the reference); WER = edits / window words.
Words are normalized as by the benchmark (:mod:`roomscribe.bench.metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass

from roomscribe.bench.metrics import normalizer, words

_normalize = normalizer("en")


@dataclass(frozen=True, slots=True)
class WindowScore:
    edits: int
    ref_words: int
    hyp_words: int

    @property
    def wer(self) -> float:
        return self.edits / max(1, self.ref_words)


def windowed_wer(reference: str, hypothesis: str, loops: int = 3) -> WindowScore:
    """Edits from ``hypothesis`` to its best window of ``reference`` looped ``loops`` times."""
    ref = words(reference, _normalize) * loops
    hyp = words(hypothesis, _normalize)
    # cost[j], first[j]: best alignment of hyp[:j] ending at the current ref
    # position, and where in ref that alignment's window starts.
    cost = list(range(len(hyp) + 1))
    first = [0] * (len(hyp) + 1)
    best = WindowScore(edits=len(hyp), ref_words=0, hyp_words=len(hyp))
    for i, ref_word in enumerate(ref, start=1):
        new_cost = [0] * (len(hyp) + 1)  # an empty hypothesis may start anywhere
        new_first = [i] * (len(hyp) + 1)
        for j, hyp_word in enumerate(hyp, start=1):
            options = [
                (cost[j - 1] + (ref_word != hyp_word), first[j - 1]),  # match / substitute
                (cost[j] + 1, first[j]),  # ref word missing from the hypothesis
                (new_cost[j - 1] + 1, new_first[j - 1]),  # extra hypothesis word
            ]
            new_cost[j], new_first[j] = min(options)
        cost, first = new_cost, new_first
        score = WindowScore(edits=cost[-1], ref_words=i - first[-1], hyp_words=len(hyp))
        if score.edits < best.edits or (score.edits == best.edits and score.wer < best.wer):
            best = score
    return best
