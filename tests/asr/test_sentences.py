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

OPTS = SentenceOptions(
    min_gap_s=0.2, min_words=3, stall_s=1.2, max_segment_s=10.0, pause_below=0.35
)


def word(text: str, start: float = 0.0, end: float = 0.1) -> Word:
    return Word(start, end, text, 0.9)


def words(*timed: tuple[str, float, float]) -> list[Word]:
    return [word(*t) for t in timed]


class Pauses:
    """A fake VAD: hears a dip (speech probability 0.1) in every gap, at its
    middle, except where told it heard speech (0.9)."""

    def __init__(self, *, speech_at: tuple[float, ...] = ()) -> None:
        self.speech_at = speech_at
        self.asked: list[tuple[float, float]] = []

    def __call__(self, start: float, end: float, below: float) -> float | None:
        self.asked.append((start, end))
        heard = 0.9 if any(start <= t <= end for t in self.speech_at) else 0.1
        return (start + end) / 2 if heard < below else None


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
    assert pauses.asked == [(pytest.approx(1.4), pytest.approx(2.1))]


def test_committed_words_alone_can_be_cut_between() -> None:
    cut = cutter(Pauses()).cut_at(SAID, [], decoded_to=2.5, segment_s=2.5)
    assert cut == pytest.approx(1.75)


def test_a_dip_the_vad_heard_is_enough_without_a_pause() -> None:
    # conversation: the next turn starts 0.05 s after the sentence end
    close = [*SAID[:3], word(" Then", 1.55, 2.0)]
    assert cutter(Pauses()).cut_at(close, [], decoded_to=2.5, segment_s=2.5) == pytest.approx(1.525)


def test_no_cut_where_the_vad_heard_speech() -> None:
    pauses = Pauses(speech_at=(1.8,))
    assert cutter(pauses).cut_at(SAID, [], decoded_to=2.5, segment_s=2.5) is None


def test_a_short_sentence_is_cut_off_only_after_a_real_pause() -> None:
    dial = words((" Dial", 0.0, 0.4), (" 1.", 0.4, 0.8), (" Then", 0.9, 1.3))
    assert cutter(Pauses()).cut_at(dial, [], decoded_to=2.5, segment_s=2.5) is None
    assert cutter(Pauses(), replace(OPTS, min_words=2)).cut_at(
        dial, [], decoded_to=2.5, segment_s=2.5
    ) == (pytest.approx(0.85))
    # a short turn ("Yes.") and a gap: cut
    yes = words((" Yes.", 0.0, 0.4), (" Then", 0.65, 1.0))
    assert cutter(Pauses()).cut_at(yes, [], decoded_to=2.5, segment_s=2.5) == pytest.approx(0.525)


def test_a_sentence_end_the_latest_decode_read_past_is_cut_before_agreement() -> None:
    assert cutter(Pauses()).cut_at(SAID[:2], SAID[2:], decoded_to=2.5, segment_s=2.5) == (
        pytest.approx(1.75)
    )


def test_a_sentence_end_where_the_decode_stopped_is_not_cut() -> None:
    # Whisper puts a period where its audio happens to end
    assert cutter(Pauses()).cut_at(SAID[:2], SAID[2:3], decoded_to=1.6, segment_s=1.6) is None


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
    assert pauses.asked == [(1.5, pytest.approx(2.1))]


def test_a_long_segment_is_cut_after_its_last_committed_word() -> None:
    run_on = words((" and", 0.0, 0.5), (" then", 0.5, 1.0), (" we", 1.0, 1.5))
    tentative = words((" went", 2.0, 2.5))
    c = cutter(Pauses())
    assert c.cut_at(run_on, tentative, decoded_to=3.0, segment_s=9.9) is None
    assert c.cut_at(run_on, tentative, decoded_to=3.0, segment_s=10.0) == pytest.approx(1.75)
    assert c.cut_at(run_on, [], decoded_to=3.0, segment_s=10.0) == pytest.approx(1.5)
    assert c.cut_at([], tentative, decoded_to=3.0, segment_s=12.0) is None


def test_a_long_segment_whose_decodes_never_agree_is_cut_before_its_unstable_tail() -> None:
    unagreed = words((" and", 0.0, 0.5), (" then", 8.6, 9.0), (" we", 9.2, 9.6))
    c = cutter(Pauses())
    # "we" ends within the last second of the decoded audio: the cut goes before it
    assert c.cut_at([], unagreed, decoded_to=10.0, segment_s=10.0) == pytest.approx(9.1)
    # a decode that heard only the start of the segment cuts nothing
    assert c.cut_at([], unagreed[:1], decoded_to=3.0, segment_s=10.0) is None


def test_a_long_segment_is_cut_where_the_vad_heard_least_speech() -> None:
    run_on = words((" and", 0.0, 0.5), (" then", 0.5, 1.0), (" we", 1.0, 1.5))
    # speech all through the gap: still cut, between the words
    cut = cutter(Pauses(speech_at=(1.5,))).cut_at(
        run_on, words((" went", 1.5, 2.0)), decoded_to=3.0, segment_s=10.0
    )
    assert cut == pytest.approx(1.5)


def test_a_clause_end_is_cut_once_the_segment_is_long() -> None:
    said = words((" If", 0.0, 0.3), (" you", 0.3, 0.6), (" can,", 0.6, 1.0), (" press", 1.1, 1.5))
    c = cutter(Pauses())
    assert c.cut_at(said, [], decoded_to=2.0, segment_s=2.9) is None
    assert c.cut_at(said, [], decoded_to=2.0, segment_s=3.0) == pytest.approx(1.05)


def test_a_forced_cut_prefers_a_recent_clause_end() -> None:
    said = words(
        (" If", 0.0, 0.3),
        (" you", 0.3, 0.6),
        (" can,", 0.6, 1.0),
        (" press", 1.0, 1.5),
        (" one", 1.5, 2.0),
    )
    c = cutter(Pauses(speech_at=(1.0, 2.0)))  # no dip anywhere: only a forced cut
    assert c.cut_at(said, words((" now", 2.0, 2.4)), decoded_to=3.0, segment_s=10.0) == (
        pytest.approx(1.0)
    )
    # a clause end long before the last word would leave most of the segment open
    late = [*said, *words((" and", 2.5, 3.0), (" two", 3.1, 3.5))]
    assert c.cut_at(late, words((" now", 3.5, 3.9)), decoded_to=4.5, segment_s=10.0) == (
        pytest.approx(3.5)
    )


def test_a_long_segment_prefers_its_sentence_end() -> None:
    assert cutter(Pauses()).cut_at(SAID, [], decoded_to=2.5, segment_s=11.0) == (
        pytest.approx(1.75)
    )


def test_a_final_after_a_sentence_end_starts_with_a_capital() -> None:
    ended = word(" problem.", 0.0, 0.5)
    final = words((" so", 1.0, 1.2), (" you're", 1.2, 1.5))
    assert [w.text for w in sentence_case(final, ended)] == [" So", " you're"]
    assert sentence_case(final, word(" the", 0.0, 0.5)) == final
    assert sentence_case(final, None) == final
    assert sentence_case([], ended) == []
    numbered = words((" 9", 1.0, 1.2))
    assert sentence_case(numbered, ended) == numbered


def test_an_agreed_sentence_end_in_a_long_segment_is_cut_without_a_dip() -> None:
    # the next talker started before this one finished: the VAD heard no dip
    pauses = Pauses(speech_at=(1.55,))
    assert cutter(pauses).cut_at(SAID, [], decoded_to=2.5, segment_s=2.9) is None
    assert cutter(pauses).cut_at(SAID, [], decoded_to=2.5, segment_s=3.0) == pytest.approx(1.75)
    # not before the decodes agree on it
    assert cutter(pauses).cut_at(SAID[:2], SAID[2:], decoded_to=2.5, segment_s=3.0) is None
