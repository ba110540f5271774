"""Where a stream's segments begin and end, driven by gate events and scripted words."""

from __future__ import annotations

from roomscribe.asr.events import Word
from roomscribe.asr.gate import TAIL_PAD_S, SpeechGate
from roomscribe.asr.language_vote import LanguageVote, LanguageVoteOptions
from roomscribe.asr.segmenter import REQUEUE_S, Segmenter
from roomscribe.asr.vad import VadEvent, VadOptions
from tests.asr.fakes import EnergyVad


def segmenter(hard_max_segment_s: float = 12.0) -> Segmenter:
    return Segmenter(
        SpeechGate(EnergyVad(), VadOptions()),
        LanguageVote(LanguageVoteOptions(), "en"),
        max_segment_s=6.0,
        hard_max_segment_s=hard_max_segment_s,
        max_pending_s=30.0,
        stream_id="s",
    )


def words(*texts: str, start: float = 1.0) -> list[Word]:
    return [Word(start + i * 0.4, start + i * 0.4 + 0.3, " " + t, 0.9) for i, t in enumerate(texts)]


def test_speech_opens_a_segment_and_its_end_closes_it() -> None:
    s = segmenter()
    s.feed([VadEvent(True, 0.2)], earliest=0.5, now=1.0)
    assert s.open is not None
    assert s.open.start == 0.5  # no earlier than the oldest audio kept
    assert s.unfinal_start == 0.5
    s.feed([VadEvent(False, 2.0)], earliest=0.5, now=2.2)
    assert s.open is None
    closed = s.finals.oldest
    assert closed is not None
    assert (closed.segment_id, closed.start, closed.end) == ("s-0", 0.5, 2.0)
    assert s.pace.silent_s(3.0) == 1.0


def test_a_segment_past_the_hard_limit_is_closed_and_the_speech_goes_on() -> None:
    s = segmenter(hard_max_segment_s=4.0)
    s.feed([VadEvent(True, 0.0)], earliest=0.0, now=3.9)
    assert not s.finals
    s.feed([], earliest=0.0, now=4.0)
    closed = s.finals.oldest
    assert closed is not None
    assert closed.end == 4.0
    assert s.open is not None
    assert s.open.start == 4.0
    assert s.open.segment_id != closed.segment_id


def test_agreed_words_are_shown_and_a_stale_decode_is_ignored() -> None:
    s = segmenter()
    s.feed([VadEvent(True, 1.0)], earliest=0.0, now=2.0)
    assert s.open is not None
    seg_id = s.open.segment_id
    first = s.interim(seg_id, words("please", "press"), decoded_to=2.0, now=2.0)
    assert first is not None
    assert [w.text for w in first.shown] == [" please", " press"]
    assert first.committed == []  # one decode agrees with nothing yet
    again = s.interim(seg_id, words("please", "press", "one"), decoded_to=2.5, now=2.5)
    assert again is not None
    assert [w.text for w in again.committed] == [" please", " press"]
    assert s.interim("another", words("please"), decoded_to=2.5, now=2.5) is None
    # the same text again shows nothing new
    assert s.interim(seg_id, words("please", "press", "one"), decoded_to=3.0, now=3.0) is None


def test_speech_a_final_decode_skipped_is_queued_again() -> None:
    s = segmenter()
    s.feed([VadEvent(True, 1.0), VadEvent(False, 8.0)], earliest=0.0, now=8.2)
    closed = s.finals.pop_oldest()
    read = words("hello", "there.")  # ends at 1.7 s: most of the audio unread
    s.requeue_uncovered(closed.end, read)
    rest = s.finals.oldest
    assert rest is not None
    assert rest.start > read[-1].end
    assert rest.end == closed.end
    assert s.finals.pop_continued(rest.segment_id) == read
    # a decode that read nearly to the end leaves nothing to queue
    s.finals.pop_oldest()
    s.requeue_uncovered(read[-1].end + TAIL_PAD_S + REQUEUE_S - 0.1, read)
    assert not s.finals
