"""Live and revised words combined span by span, each span from the surer reading."""

from __future__ import annotations

from collections.abc import Sequence

from roomscribe.asr.events import Word
from roomscribe.asr.merge import MergeOptions, merge

OPTS = MergeOptions(min_gain=0.05, min_added=0.5, min_kept=0.3)


def said(spec: Sequence[tuple[str, float]], start: float = 0.0) -> list[Word]:
    """Words of 0.4 s, one after the other, with the given probabilities."""
    return [
        Word(start + 0.4 * i, start + 0.4 * i + 0.3, f" {t}", p) for i, (t, p) in enumerate(spec)
    ]


def text(words: Sequence[Word]) -> str:
    return "".join(w.text for w in words).strip()


def test_each_differing_span_comes_from_the_surer_reading() -> None:
    """The revision fixes "Dow" but hears "caller" as "color": both readings
    contribute (tiny.en, allison-b)."""
    live = said([("Dow", 0.25), ("2,", 0.5), ("to", 0.9), ("send", 0.99), ("this", 0.98)])
    live += said([("caller", 0.9), ("to", 0.99), ("voicemail.", 0.94)], start=2.0)
    revised = said([("dial", 0.98), ("2,", 0.98), ("to", 0.95), ("send", 0.99), ("this", 0.99)])
    revised += said([("color", 0.7), ("to", 0.99), ("voicemail,", 0.97)], start=2.0)

    assert text(merge(live, revised, OPTS)) == "dial 2, to send this caller to voicemail."


def test_a_span_must_be_surer_by_the_margin_to_replace() -> None:
    live = said([("Waldo's", 0.754), ("premier", 0.7)])
    surer_within_margin = said([("Walters", 0.79), ("premier", 0.69)])  # < 0.754 + 0.05
    sure = said([("While", 0.85), ("those", 0.967), ("premier", 0.69)])  # 0.82 >= 0.804

    assert text(merge(live, surer_within_margin, OPTS)) == "Waldo's premier"
    assert text(merge(live, sure, OPTS)) == "While those premier"


def test_a_span_is_weighed_as_one_reading_not_word_by_word() -> None:
    """A word split into surer pieces is not a surer reading (base, asterisk-en:
    mean 0.80 against 0.73 + 0.05, but all of "While those" right is 0.61),
    and pieces joined into one surer word are (French "bip sonore")."""
    live = said([("Waldo's", 0.73), ("premier", 0.71)])
    split = said([("While", 0.63), ("those", 0.97), ("premier", 0.70)])
    assert text(merge(live, split, OPTS)) == "Waldo's premier"

    live = said([("le", 0.99), ("beep", 0.14), ("son", 0.96), ("or,", 0.45), ("enregistrez", 0.84)])
    joined = said([("le", 0.99), ("Bipsonor,", 0.38), ("enregistrez", 0.92)])
    assert text(merge(live, joined, OPTS)) == "le Bipsonor, enregistrez"


def test_where_both_agree_the_live_words_stay_with_their_case_and_punctuation() -> None:
    live = said([("Simultaneous", 0.68), ("call", 0.81), ("limit", 0.25), ("reached.", 0.87)])
    revised = said([("simultaneous", 0.6), ("call", 0.9), ("limit", 0.8), ("reached", 0.95)])

    assert merge(live, revised, OPTS) == live


def test_words_only_the_revision_has_are_added_when_it_is_sure_of_them() -> None:
    live = said([("press", 0.9), ("pound", 0.9)])
    sure = said([("press", 0.9), ("the", 0.8), ("pound", 0.9)])
    unsure = said([("press", 0.9), ("the", 0.2), ("pound", 0.9)])

    assert text(merge(live, sure, OPTS)) == "press the pound"
    assert text(merge(live, unsure, OPTS)) == "press pound"


def test_live_words_the_revision_left_out_go_only_if_they_were_unsure() -> None:
    revised = said([("to", 0.9), ("cancel.", 0.9)], start=0.4)

    kept = said([("or", 0.6), ("to", 0.9), ("cancel.", 0.9)])
    assert text(merge(kept, revised, OPTS)) == "or to cancel."
    dropped = said([("uh", 0.1), ("to", 0.9), ("cancel.", 0.9)])
    assert text(merge(dropped, revised, OPTS)) == "to cancel."


def test_tokens_without_letters_or_digits_are_left_out() -> None:
    live = said([("one", 0.9), ("-", 0.9), ("two", 0.9)])
    assert text(merge(live, said([("one", 0.9), ("two", 0.9)]), OPTS)) == "one two"


def test_the_same_letters_split_into_other_words_keep_the_live_words() -> None:
    """Base read Spanish "aún" as "a un" and "ahora" as "a hora" in the revision,
    surer of the pieces: a spelling, not a better reading (both cost a word)."""
    live = said([("aún", 0.6), ("escucharás", 0.9), ("ahora.", 0.5)])
    revised = said([("a", 0.9), ("un", 0.9), ("escucharás", 0.9), ("a", 0.9), ("hora,", 0.8)])

    assert text(merge(live, revised, OPTS)) == "aún escucharás ahora."
    # one word for another stays a matter of confidence, accents included
    assert text(merge(said([("esta", 0.5)]), said([("está", 0.9)]), OPTS)) == "está"
    # at either end of a span that also differs otherwise
    live = said([("uno", 0.9), ("ahora.", 0.5), ("Sin", 0.4), ("por", 0.9), ("favor", 0.9)])
    revised = said([("uno", 0.9), ("a", 0.9), ("hora,", 0.8), ("sino", 0.9)])
    revised += said([("por", 0.9), ("favor", 0.9)], start=1.6)
    assert text(merge(live, revised, OPTS)) == "uno ahora. sino por favor"
    # digits too: base wrote "1234" live and "1,2,3,4" in the revision
    live = said([("extension", 0.9), ("1234.", 0.6)])
    revised = said([("extension", 0.9), ("1,", 0.9), ("2,", 0.9), ("3,", 0.9), ("4", 0.9)])
    assert text(merge(live, revised, OPTS)) == "extension 1234."
    live = said([("dijo", 0.4), ("ahora.", 0.5)])
    revised = said([("dice", 0.9), ("a", 0.9), ("hora.", 0.9)])
    assert text(merge(live, revised, OPTS)) == "dice ahora."
