"""Hallucination guards: Whisper's known failure modes on non-speech."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from roomscribe.asr.agreement import word_key
from roomscribe.asr.backend import DecodeResult
from roomscribe.asr.events import Word

_ANNOTATION = re.compile(r"^\s*[\[(*♪♫#].*[\])*♪♫#]?\s*$|^\s*[♪♫]+\s*$")
_MUSIC_SYMBOLS = set("♪♫♬♩")


@dataclass(frozen=True, slots=True)
class GuardOptions:
    no_speech_threshold: float = 0.6
    """With a low log-probability, this no-speech probability means silence."""
    logprob_threshold: float = -1.0
    min_avg_logprob: float = -1.6
    """Decodes this unsure are dropped whatever Whisper's no-speech head says."""
    max_repeats: int = 2
    """An n-gram repeated more often than this in a row is a decoding loop."""
    min_lone_word_probability: float = 0.2
    """One or two words this unsure (on average) are a guess at noise (a lone "Thank")."""


def is_annotation(text: str) -> bool:
    """``[Music]``, ``(applause)``, ``♪`` and similar non-speech markers."""
    t = text.strip()
    if not t:
        return True
    if any(c in _MUSIC_SYMBOLS for c in t):
        return True
    return bool(_ANNOTATION.match(t)) and not any(ch.isalnum() for ch in t.strip("[]()*#"))


def drop_annotations(words: Sequence[Word]) -> list[Word]:
    """Remove bracketed annotation spans such as ``[ Music ]`` (possibly split in words)."""
    out: list[Word] = []
    depth = 0
    for w in words:
        t = w.text.strip()
        if any(c in _MUSIC_SYMBOLS for c in t):
            continue
        opens = t.count("[") + t.count("(")
        closes = t.count("]") + t.count(")")
        if depth == 0 and opens == 0:
            out.append(w)
            continue
        depth = max(0, depth + opens - closes)
    return out


def collapse_repeats(words: Sequence[Word], max_repeats: int) -> list[Word]:
    """Cut a hypothesis where it starts looping.

    A single word may repeat up to ``max_repeats`` times in a row ("no, no")
    unless a copy takes no time at all (the aligner found no audio for it); a
    phrase of two or more words repeated back to back is a decoding loop, and
    only its first copy is kept.
    """
    keys = [word_key(w.text) for w in words]
    n_words = len(keys)
    for i in range(n_words):
        for n in range(1, (n_words - i) // 2 + 1):
            gram = keys[i : i + n]
            if not all(gram):
                continue
            allowed = max_repeats if n == 1 else 1
            reps = 1
            j = i + n
            while j + n <= n_words and keys[j : j + n] == gram:
                if n == 1 and words[j].end - words[j].start < 0.02:
                    allowed = 1
                reps += 1
                j += n
            if reps > allowed:
                return list(words[: i + n * allowed])
    return _cut_echo(list(words), keys)


def _cut_echo(words: list[Word], keys: list[str]) -> list[Word]:
    """A phrase of 3+ words coming back after one stray word ("… mail. 1. Welcome to mail")."""
    for i in range(len(keys)):
        for n in range(3, (len(keys) - i - 1) // 2 + 1):
            gram = keys[i : i + n]
            if all(gram) and keys[i + n + 1 : i + 2 * n + 1] == gram:
                return words[: i + n]
    return words


def drop_timeless_tail(words: Sequence[Word]) -> list[Word]:
    """Drop trailing words the aligner could place on no audio at all.

    When Whisper keeps talking after the audio ended (a loop, or a phrase
    invented from the prompt), the invented words get zero-length times at the
    very end of the window.
    """
    out = list(words)
    while out and out[-1].end - out[-1].start < 0.02:
        out.pop()
    return out


def clean(result: DecodeResult, options: GuardOptions) -> list[Word]:
    """Words of ``result`` that survive the guards (empty means: no speech)."""
    silent = (
        result.no_speech_prob > options.no_speech_threshold
        and result.avg_logprob < options.logprob_threshold
    )
    if silent or result.avg_logprob < options.min_avg_logprob:
        return []
    words = drop_annotations(result.words)
    words = drop_timeless_tail(words)
    words = collapse_repeats(words, options.max_repeats)
    if not any(any(c.isalnum() for c in w.text) for w in words):
        return []
    if len(words) <= 2 and sum(w.probability for w in words) / len(words) < (
        options.min_lone_word_probability
    ):
        return []
    return words
