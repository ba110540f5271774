"""Caption quality and latency, the same metric for every system.

* WER of the final transcript (finals in segment order) against the reference,
  after Whisper's English text normalizer (basic normalizer for other
  languages); punctuation-only tokens are not words.
* Utterance-final latency: for the last word of each reference utterance, the
  seconds after the utterance ended until that word was first shown (any
  caption) and until it was first part of a final caption. A word counts as
  shown when the alignment of the shown text against the reference matches it.
  The alignment is causal: a caption emitted at time t is aligned only against
  the reference utterances that had begun by t, so a recurring word ("...the
  conference.") cannot tie with a later, not yet spoken occurrence and count
  as matched only once the next utterance forces the alignment (the
  independent scorer ``captions_score.py`` does the same).
* Final latency by time: the seconds after each reference utterance ended
  until the final caption with its last speech arrived (of the finals whose
  words overlap the utterance, the one reaching furthest; a final must start
  ``NEXT_START_SLACK_S`` before the utterance end, so the next utterance's
  first word stretched back into the pause does not count). It does not
  depend on the words being right, so it stays meaningful where the text
  alignment is not (a misheard last word, high-WER languages).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from roomscribe.bench.reference import Reference
from roomscribe.replay import Emitted

NEXT_START_SLACK_S = 0.3
"""Word times of a final can start this early (the aligner stretches a first word)."""


def normalizer(language: str | None) -> Callable[[str], str]:
    if language in (None, "en"):
        from whisper_normalizer.english import EnglishTextNormalizer

        norm: Callable[[str], str] = EnglishTextNormalizer()
    else:
        from whisper_normalizer.basic import BasicTextNormalizer

        norm = BasicTextNormalizer(remove_diacritics=True)
    return norm


def words(text: str, norm: Callable[[str], str]) -> list[str]:
    return [w for w in norm(text).split() if any(c.isalnum() for c in w)]


def wer(reference: str, hypothesis: str, language: str | None = "en") -> float:
    import jiwer

    norm = normalizer(language)
    ref, hyp = words(reference, norm), words(hypothesis, norm)
    if not ref:
        return float(len(hyp))
    if not hyp:
        return 1.0
    return float(jiwer.wer(" ".join(ref), " ".join(hyp)))


def bleu(
    references: Sequence[str], hypotheses: Sequence[str], language: str | None = "en"
) -> float:
    """Corpus BLEU-4 (0-100) of ``hypotheses`` against one reference each, on the words
    :func:`wer` compares (normalized, so case and punctuation do not count).

    As sacrebleu's ``corpus_bleu`` with ``tokenize="none"`` and its default
    ``exp`` smoothing, computed here so that no extra dependency is needed: clipped
    n-gram matches summed over the corpus, each order without a match counted as
    ``1 / (2**k * total)``, and the brevity penalty on the summed lengths.
    """
    norm = normalizer(language)
    correct, total = [0] * 4, [0] * 4
    ref_len = hyp_len = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref, hyp = words(reference, norm), words(hypothesis, norm)
        ref_len, hyp_len = ref_len + len(ref), hyp_len + len(hyp)
        for n in range(1, 5):
            ref_grams = Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
            hyp_grams = Counter(tuple(hyp[i : i + n]) for i in range(len(hyp) - n + 1))
            correct[n - 1] += sum((hyp_grams & ref_grams).values())
            total[n - 1] += sum(hyp_grams.values())
    if hyp_len == 0 or 0 in total:
        return 0.0
    log_precision, smooth = 0.0, 1.0
    for matched, count in zip(correct, total, strict=True):
        if matched == 0:
            smooth *= 2
        log_precision += math.log(matched / count if matched else 1 / (smooth * count))
    brevity = 1.0 if hyp_len >= ref_len else math.exp(1 - ref_len / hyp_len)
    return 100 * brevity * math.exp(log_precision / 4)


@dataclass(frozen=True, slots=True)
class StreamScore:
    wer: float
    hyp_words: int
    ref_words: int
    utterances: int
    shown: int
    finalized: int
    first_shown: tuple[float, ...]
    final: tuple[float, ...]
    transcript: str
    final_by_time: tuple[float, ...] = ()

    @property
    def first_shown_p50(self) -> float:
        return percentile(self.first_shown, 0.5)

    @property
    def first_shown_p90(self) -> float:
        return percentile(self.first_shown, 0.9)

    @property
    def final_p50(self) -> float:
        return percentile(self.final, 0.5)

    @property
    def final_p90(self) -> float:
        return percentile(self.final, 0.9)

    @property
    def final_by_time_p50(self) -> float:
        return percentile(self.final_by_time, 0.5)

    @property
    def final_by_time_p90(self) -> float:
        return percentile(self.final_by_time, 0.9)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``nan`` when empty), as the independent scorer does."""
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def final_transcript(events: Sequence[Emitted]) -> str:
    order: list[str] = []
    finals: dict[str, str] = {}
    for e in sorted(events, key=lambda e: e.emitted_at):
        sid = e.caption.segment_id
        if sid not in order:
            order.append(sid)
        if e.caption.final:
            finals[sid] = e.caption.text
    return " ".join(finals[s] for s in order if s in finals)


def score(
    events: Sequence[Emitted], reference: Reference, language: str | None = "en"
) -> StreamScore:
    """Score one stream's caption events against its reference."""
    import jiwer

    norm = normalizer(language)
    ref_words: list[str] = []
    last_word_end: dict[int, float] = {}
    # (utterance start, reference words up to its end), for the causal alignment
    begun: list[tuple[float, int]] = []
    for u in reference.utterances:
        w = words(u.text, norm)
        if w:
            ref_words += w
            last_word_end[len(ref_words) - 1] = u.end
            begun.append((u.start, len(ref_words)))
    if not reference.utterances:
        ref_words = words(reference.text, norm)
    ref_joined = " ".join(ref_words)

    def spoken_by(t: float) -> int:
        """How many reference words belong to utterances begun by time ``t``."""
        n = 0
        for start, upto in begun:
            if start <= t:
                n = upto
        return n

    def matched(text: str, t: float) -> set[int]:
        hyp = words(text, norm)
        spoken = ref_words[: spoken_by(t)]
        if not hyp or not spoken:
            return set()
        out = jiwer.process_words(" ".join(spoken), " ".join(hyp))
        hit: set[int] = set()
        for chunk in out.alignments[0]:
            if chunk.type == "equal":
                hit.update(range(chunk.ref_start_idx, chunk.ref_end_idx))
        return hit

    order: list[str] = []
    current: dict[str, str] = {}
    finals: dict[str, str] = {}
    first_any: dict[int, float] = {}
    first_final: dict[int, float] = {}
    for e in sorted(events, key=lambda e: e.emitted_at):
        sid = e.caption.segment_id
        if sid not in current:
            order.append(sid)
        current[sid] = e.caption.text
        if e.caption.final:
            finals[sid] = e.caption.text
        if not last_word_end:
            continue
        shown = " ".join(current[s] for s in order)
        for pos in matched(shown, e.emitted_at):
            if pos in last_word_end and pos not in first_any:
                first_any[pos] = e.emitted_at - last_word_end[pos]
        if e.caption.final:
            firm = " ".join(finals[s] for s in order if s in finals)
            for pos in matched(firm, e.emitted_at):
                if pos in last_word_end and pos not in first_final:
                    first_final[pos] = e.emitted_at - last_word_end[pos]
    transcript = " ".join(finals[s] for s in order if s in finals)
    hyp = words(transcript, norm)
    if ref_words:
        error_rate = float(jiwer.wer(ref_joined, " ".join(hyp))) if hyp else 1.0
    else:
        error_rate = float(len(hyp))
    return StreamScore(
        wer=error_rate,
        hyp_words=len(hyp),
        ref_words=len(ref_words),
        utterances=len(last_word_end),
        shown=len(first_any),
        finalized=len(first_final),
        first_shown=tuple(first_any[k] for k in sorted(first_any)),
        final=tuple(first_final[k] for k in sorted(first_final)),
        transcript=transcript,
        final_by_time=final_by_time(events, reference),
    )


def final_by_time(events: Sequence[Emitted], reference: Reference) -> tuple[float, ...]:
    """Per utterance (that any final reached): seconds from its end to its last final."""
    finals = [e for e in events if e.caption.final]
    out: list[float] = []
    for u in reference.utterances:
        overlapping = [
            e
            for e in finals
            if e.caption.end > u.start and e.caption.start < u.end - NEXT_START_SLACK_S
        ]
        if overlapping:
            last = max(overlapping, key=lambda e: (e.caption.end, e.emitted_at))
            out.append(last.emitted_at - u.end)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RevisionEffects:
    """What each revision did to the transcript, judged by the reference.

    Read from the caption log alone (not from the reviser's own counters), so
    it checks the revision pass rather than repeating it.
    """

    improved: int
    """Revisions that, applied alone to the live transcript, remove errors."""
    worsened: int
    """Revisions that add errors."""
    neutral: int
    duplicated: int
    """Revisions that add, at the head or tail of their segment, words the
    neighbouring segment's final already says (moved across a boundary)."""


def revision_effects(
    events: Sequence[Emitted], reference_text: str, language: str | None = "en"
) -> RevisionEffects:
    """Judge every segment's last revision against the live final it replaced.

    Words moved across a boundary are found with the reviser's own rule
    (:func:`~roomscribe.asr.revision.repeats_a_neighbour`), but on the
    published captions and the benchmark's normalized words, not on what the
    reviser saw.
    """
    import jiwer

    from roomscribe.asr.revision import repeats_a_neighbour

    norm = normalizer(language)
    order: list[str] = []
    live: dict[str, str] = {}
    revised: dict[str, str] = {}
    for e in sorted(events, key=lambda e: e.emitted_at):
        c = e.caption
        if not c.final:
            continue
        if c.segment_id not in order:
            order.append(c.segment_id)
        (revised if c.revision else live)[c.segment_id] = c.text
    ref = " ".join(words(reference_text, norm))

    def errors(texts: dict[str, str]) -> int:
        hyp = " ".join(words(" ".join(texts[s] for s in order if s in texts), norm))
        if not ref or not hyp:
            return len(ref.split()) + len(hyp.split())
        out = jiwer.process_words(ref, hyp)
        return int(out.substitutions + out.deletions + out.insertions)

    base = errors(live)
    improved = worsened = neutral = duplicated = 0
    for sid, text in revised.items():
        delta = errors({**live, sid: text}) - base
        improved += delta < 0
        worsened += delta > 0
        neutral += delta == 0
        i = order.index(sid)
        before = words(_final_of(order[i - 1], live, revised), norm) if i > 0 else []
        after = words(_final_of(order[i + 1], live, revised), norm) if i + 1 < len(order) else []
        old, new = words(live.get(sid, ""), norm), words(text, norm)
        duplicated += repeats_a_neighbour(old, new, before, after)
    return RevisionEffects(improved, worsened, neutral, duplicated)


def _final_of(sid: str, live: dict[str, str], revised: dict[str, str]) -> str:
    return revised.get(sid, live.get(sid, ""))
