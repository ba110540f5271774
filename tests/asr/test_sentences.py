"""Sentence cuts of an open segment, on scripted word times and pauses (no model, no VAD)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from roomscribe.asr.events import Word
from roomscribe.asr.sentences import (
    SentenceCutter,
    SentenceOptions,
    ends_sentence,
    sentence_case,
)

OPTS = SentenceOptions(split=True, min_gap_s=0.2, min_words=3, stall_s=1.2, max_segment_s=10.0)


def word(text: str, start: float = 0.0, end: float = 0.1) -> Word:
    return Word(start, end, text, 0.9)


def words(*timed: tuple[str, float, float]) -> list[Word]:
    return [word(*t) for t in timed]


class Pauses:
    """A fake VAD: hears a pause in every gap (its middle), except where told not to."""

    def __init__(self, *, speech_at: tuple[float, ...] = ()) -> None:
        self.speech_at = speech_at
        self.asked: list[tuple[float, float]] = []

    def __call__(self, start: float, end: float) -> float | None:
        self.asked.append((start, end))
        if any(start <= t <= end for t in self.speech_at):
            return None
        return (start + end) / 2


def cutter(pauses: Pauses, options: SentenceOptions = OPTS) -> SentenceCutter:
    return SentenceCutter(options, pauses)


# "Press one now. Then two." : a sentence end at 1.5, the next word at 2.0
SAID = words((" Press", 0.0, 0.5), (" one", 0.5, 1.0), (" now.", 1.0, 1.5), (" Then", 2.0, 2.4))


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        (" there.", True),
        (" today?", True),
        (" stop!", True),
        (' "Yes."', True),
        (" (see below.)", True),
        ("。", True),
        (" 3.5", False),
        (" so", False),
        (" e.g", False),
    ],
)
def test_sentence_ends(text: str, ends: bool) -> None:
    assert ends_sentence(word(text)) is ends


def test_cut_in_the_pause_after_a_sentence_end_the_speaker_talked_past() -> None:
    pauses = Pauses()
    cut = cutter(pauses).cut_at(SAID[:3], SAID[3:], decoded_to=2.5, segment_s=2.5)
    assert cut == pytest.approx(1.75)
    assert pauses.asked == [(1.5, 2.0)]


def test_committed_words_alone_can_be_cut_between() -> None:
    cut = cutter(Pauses()).cut_at(SAID, [], decoded_to=2.5, segment_s=2.5)
    assert cut == pytest.approx(1.75)


def test_no_cut_without_a_gap_after_the_sentence_end() -> None:
    close = [*SAID[:3], word(" Then", 1.65, 2.0)]
    assert cutter(Pauses()).cut_at(close, [], decoded_to=2.5, segment_s=2.5) is None


def test_no_cut_where_the_vad_heard_speech() -> None:
    pauses = Pauses(speech_at=(1.8,))
    assert cutter(pauses).cut_at(SAID, [], decoded_to=2.5, segment_s=2.5) is None


def test_a_short_sentence_stays_with_the_next_one() -> None:
    dial = words((" Dial", 0.0, 0.4), (" 1.", 0.4, 0.8), (" Then", 1.5, 1.9))
    assert cutter(Pauses()).cut_at(dial, [], decoded_to=2.5, segment_s=2.5) is None
    assert cutter(Pauses(), replace(OPTS, min_words=2)).cut_at(
        dial, [], decoded_to=2.5, segment_s=2.5
    ) == (pytest.approx(1.15))


def test_an_uncommitted_sentence_end_is_not_cut() -> None:
    assert cutter(Pauses()).cut_at(SAID[:2], SAID[2:], decoded_to=2.5, segment_s=2.5) is None


def test_the_latest_sentence_end_wins() -> None:
    two = [
        *SAID,
        *words((" press", 2.4, 2.8), (" two.", 2.8, 3.2), (" Bye", 4.0, 4.3)),
    ]
    assert cutter(Pauses()).cut_at(two, [], decoded_to=4.5, segment_s=4.5) == pytest.approx(3.6)


def test_a_decoder_that_stopped_at_a_sentence_end_is_cut_after_it() -> None:
    pauses = Pauses()
    c = cutter(pauses)
    assert c.cut_at(SAID[:3], [], decoded_to=2.69, segment_s=2.7) is None
    assert c.cut_at(SAID[:3], [], decoded_to=2.7, segment_s=2.7) == pytest.approx(1.8)
    assert pauses.asked == [(1.5, 2.1)]


def test_a_long_segment_is_cut_after_its_last_committed_word() -> None:
    run_on = words((" and", 0.0, 0.5), (" then", 0.5, 1.0), (" we", 1.0, 1.5))
    tentative = words((" went", 2.0, 2.5))
    c = cutter(Pauses())
    assert c.cut_at(run_on, tentative, decoded_to=3.0, segment_s=9.9) is None
    assert c.cut_at(run_on, tentative, decoded_to=3.0, segment_s=10.0) == pytest.approx(1.75)
    assert c.cut_at(run_on, [], decoded_to=3.0, segment_s=10.0) == pytest.approx(1.5)
    assert c.cut_at([], tentative, decoded_to=3.0, segment_s=12.0) is None


def test_a_long_segment_prefers_its_sentence_end() -> None:
    assert cutter(Pauses()).cut_at(SAID, [], decoded_to=2.5, segment_s=11.0) == (
        pytest.approx(1.75)
    )


def test_without_splitting_only_length_cuts() -> None:
    pauses = Pauses()
    c = cutter(pauses, replace(OPTS, split=False))
    assert c.cut_at(SAID, [], decoded_to=2.5, segment_s=2.5) is None
    assert pauses.asked == []
    # too long: the sentence end is still the best place to cut
    assert c.cut_at(SAID, [], decoded_to=2.5, segment_s=10.0) == pytest.approx(1.75)


def test_a_final_after_a_sentence_end_starts_with_a_capital() -> None:
    ended = word(" problem.", 0.0, 0.5)
    final = words((" so", 1.0, 1.2), (" you're", 1.2, 1.5))
    assert [w.text for w in sentence_case(final, ended)] == [" So", " you're"]
    assert sentence_case(final, word(" the", 0.0, 0.5)) == final
    assert sentence_case(final, None) == final
    assert sentence_case([], ended) == []
    numbered = words((" 9", 1.0, 1.2))
    assert sentence_case(numbered, ended) == numbered
