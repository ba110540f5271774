"""Combine a segment's live words with its revised reading, span by span.

The revision pass reads a sentence again with seconds of audio around it and
the text before it as prompt: better on the whole, not word for word (tiny.en
heard "party's" live and "parties" in the revision; base "Callers" and
"Colors"). Taking or leaving the revision as a whole, by its mean word
probability, keeps such a word along with the ones the revision got right.

Here both readings are aligned on their word keys and each span where they
differ goes to the side the decoder was surer of: a two-way ROVER (Fiscus,
1997) with the word probabilities as confidence, each span's reading
weighed by the product of its words' (a word split into surer pieces is not
a surer reading). Where the readings agree the live words stay (their case
and punctuation are what people saw), and where they only split or join
words differently ("aún" / "a un", "ahora" / "a hora") too: that is
spelling, not a better reading.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from roomscribe.asr.agreement import word_key
from roomscribe.asr.events import Word

_MAX_RESPELLED = 8


@dataclass(frozen=True, slots=True)
class MergeOptions:
    """When a span of the revision replaces, adds or drops live words."""

    min_gain: float = 0.05
    """Revised words replace the live words they differ from if the
    probability of their reading (the product of their word probabilities)
    is at least the live words' plus this. The product, not the mean: a word
    split into surer pieces is not a surer reading (docs/benchmarks.md)."""
    min_added: float = 0.5
    """Words only the revision has are added if their mean probability is at least this."""
    min_kept: float = 0.3
    """Live words the revision has not are kept if their mean probability is at least this."""


def _mean(words: Sequence[Word]) -> float:
    return sum(w.probability for w in words) / len(words)


def _joint(words: Sequence[Word]) -> float:
    """How likely the decoder found the whole reading: every word of it right."""
    return math.prod(w.probability for w in words)


def _letters(keys: Sequence[str]) -> str:
    """What a span spells, spaces, apostrophes and accents aside."""
    spelled = unicodedata.normalize("NFKD", "".join(keys).replace("'", ""))
    return "".join(c for c in spelled if not unicodedata.combining(c))


def _keyed(words: Sequence[Word]) -> tuple[list[Word], list[str]]:
    """The words that have a key (letters or digits), and their keys."""
    keyed = [(w, k) for w in words if (k := word_key(w.text))]
    return [w for w, _ in keyed], [k for _, k in keyed]


def merge(live: Sequence[Word], revised: Sequence[Word], opts: MergeOptions) -> list[Word]:
    """The live words with every differing span the revision reads more surely
    taken from it. Words without letters or digits (a lone dash) are left out."""
    old, old_keys = _keyed(live)
    new, new_keys = _keyed(revised)
    matcher = SequenceMatcher(a=old_keys, b=new_keys, autojunk=False)
    out: list[Word] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        was, now = old[a1:a2], new[b1:b2]
        if op == "equal":
            out += was
            continue
        # words only split or joined differently at either end of the span stay
        head = _respelled(old_keys[a1:a2], new_keys[b1:b2])
        was_keys, now_keys = old_keys[a1 + head[0] : a2], new_keys[b1 + head[1] : b2]
        tail = _respelled(was_keys, now_keys, from_end=True)
        out += was[: head[0]]
        was = was[head[0] : len(was) - tail[0]]
        now = now[head[1] : len(now) - tail[1]]
        if not was:
            out += now if now and _mean(now) >= opts.min_added else []
        elif not now:
            out += was if _mean(was) >= opts.min_kept else []
        else:
            out += now if _joint(now) >= _joint(was) + opts.min_gain else was
        out += old[a2 - tail[0] : a2]
    return out


def _respelled(
    was: Sequence[str], now: Sequence[str], *, from_end: bool = False
) -> tuple[int, int]:
    """How many words open (``from_end``: close) both spans that spell the same
    letters split into other words ("ahora" / "a" "hora", "1234" / "1," "2,"
    "3," "4"; at most eight a side): 0, 0 if none."""
    i = j = 0
    while True:
        was_spelled = _spellings(was, i, from_end)
        now_spelled = _spellings(now, j, from_end)
        step = next(
            (
                (p, q)
                for p, a in enumerate(was_spelled, 1)
                for q, b in enumerate(now_spelled, 1)
                if p != q and a == b
            ),
            None,
        )
        if step is None:
            return i, j
        i, j = i + step[0], j + step[1]


def _spellings(keys: Sequence[str], skip: int, from_end: bool) -> list[str]:
    """What the next 1, 2, ... (at most eight) words after the first ``skip``
    (``from_end``: before the last ``skip``) spell."""
    n = min(_MAX_RESPELLED, len(keys) - skip)
    return [_letters(_run(keys, skip, k, from_end)) for k in range(1, n + 1)]


def _run(keys: Sequence[str], skip: int, n: int, from_end: bool) -> Sequence[str]:
    """The ``n`` words after the first ``skip`` (``from_end``: before the last ``skip``)."""
    return keys[len(keys) - skip - n : len(keys) - skip] if from_end else keys[skip : skip + n]
