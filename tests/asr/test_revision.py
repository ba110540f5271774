"""The revision pass: the reviser alone, then policy + scheduler on a scripted backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pytest

from roomscribe.asr.backend import SAMPLE_RATE, DecodeRequest, DecodeResult
from roomscribe.asr.events import Caption, Word
from roomscribe.asr.jobs import JobKind
from roomscribe.asr.policy import PolicyOptions, StreamPolicy
from roomscribe.asr.prompts import LEFT_CONTEXT_S
from roomscribe.asr.revision import Reviser, RevisionOptions, assign, crosses_boundary
from roomscribe.asr.scheduler import Assignment, Scheduler, SchedulerOptions
from roomscribe.replay import Emitted, Pace, Review, replay
from tests.asr.fakes import EnergyVad, ToneRecognizer, silence, speaking, synth


def words(spec: Sequence[tuple[str, float]]) -> tuple[Word, ...]:
    """Words of 0.3 s starting at the given times."""
    return tuple(Word(t, t + 0.3, " " + text, 0.9) for text, t in spec)


def final(segment_id: str, spec: Sequence[tuple[str, float]]) -> Caption:
    ws = words(spec)
    text = "".join(w.text for w in ws).strip()
    return Caption(segment_id, text, True, ws, ws[0].start, ws[-1].end, "en")


def result(spec: Sequence[tuple[str, float]], offset: float = 0.0) -> DecodeResult:
    """A revision decode, surer of its words (0.99) than the live finals (0.9)."""
    shifted = [(t, s - offset) for t, s in spec]
    sure = tuple(replace(w, probability=0.99) for w in words(shifted))
    return DecodeResult(sure, "en", 1.0, 0.01, -0.2, 1.2)


def test_only_segments_whose_words_changed_are_revised_with_their_ids() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0))
    reviser.add(final("s-0", [("Dial", 1.0), ("one.", 1.4)]))
    reviser.add(final("s-1", [("do", 3.0), ("lock.", 3.4)]))
    reviser.add(final("s-2", [("Goodbye.", 5.0)]))
    assert reviser.due(6.0)
    window, prompt = reviser.window()
    assert window.segments == ("s-0", "s-1", "s-2")
    assert prompt == ""
    decoded = result(
        [("Dial", 1.0), ("one.", 1.4), ("to", 3.0), ("lock.", 3.4), ("Goodbye.", 5.0)],
        offset=window.start,
    )
    captions = reviser.apply(window, decoded, window.start)
    assert [(c.segment_id, c.text, c.final, c.revision) for c in captions] == [
        ("s-1", "to lock.", True, 1)
    ]
    assert (reviser.revised_segments, reviser.confirmed_segments) == (1, 2)
    reviewed = reviser.take_reviewed()
    assert [(r.segment_id, r.changed) for r in reviewed] == [
        ("s-0", False),
        ("s-1", True),
        ("s-2", False),
    ]
    assert reviser.finished


def test_case_and_punctuation_alone_are_no_revision() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0))
    reviser.add(final("s-0", [("To", 1.0), ("mute.", 1.4)]))
    window, _ = reviser.window()
    assert reviser.apply(window, result([("to", 1.0), ("mute,", 1.4)]), 0.0) == []
    assert reviser.confirmed_segments == 1


def test_the_window_starts_a_little_before_its_first_segment() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, lead_s=0.5, context_s=0.0))
    reviser.add(final("s-0", [("one", 1.0)]))
    first, _ = reviser.window()
    assert first.start == pytest.approx(0.5)
    reviser.apply(first, result([("one", 1.0)]), 0.0)
    reviser.add(final("s-1", [("two", 1.45)]))
    second, _ = reviser.window()
    assert second.start == pytest.approx(1.3)  # not into the segment before


def test_revised_speech_before_a_window_is_heard_again_but_not_changed() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, context_s=10.0))
    reviser.add(final("s-0", [("one", 1.0), ("two", 1.4)]))
    reviser.add(final("s-1", [("three", 3.0)]))
    first, _ = reviser.window()
    reviser.apply(first, result([("one", 1.0), ("two", 1.4), ("three", 3.0)]), 0.0)
    reviser.add(final("s-2", [("four", 5.0), ("five", 5.4)]))
    window, prompt = reviser.window()
    assert window.segments == ("s-2",)
    assert window.start == pytest.approx(0.95)  # from the first revised word on
    assert prompt == ""  # what the window hears again is not in the prompt
    heard = result([("won", 1.0), ("two", 1.4), ("three", 3.0), ("four", 5.0), ("fife", 5.4)])
    captions = reviser.apply(window, heard, 0.0)
    assert [(c.segment_id, c.text) for c in captions] == [("s-2", "four fife")]


def test_a_segment_is_never_in_two_windows_at_once() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, context_s=0.0))
    reviser.add(final("s-0", [("one", 1.0), ("two", 1.4)]))
    window, _ = reviser.window()
    reviser.add(final("s-1", [("three", 3.0), ("four", 3.4)]))
    assert not reviser.due(10.0)  # one window in flight per stream
    with pytest.raises(RuntimeError):
        reviser.window()
    reviser.apply(window, result([("one", 1.0), ("two", 1.4)]), 0.0)
    second, prompt = reviser.window()
    assert second.segments == ("s-1",)
    assert prompt == "one two"  # the text before the window, as revised
    with pytest.raises(ValueError, match="did not hand out"):
        reviser.apply(window, result([]), 0.0)  # the first window's result, again


def test_the_decode_ending_early_leaves_the_rest_for_the_next_window() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, min_word_ratio=0.3))
    reviser.add(final("s-0", [("one", 1.0), ("two", 1.4)]))
    reviser.add(final("s-1", [("three", 3.0), ("four", 3.4)]))
    window, _ = reviser.window()
    [caption] = reviser.apply(window, result([("one", 1.0), ("too", 1.4)]), 0.0)
    assert caption.text == "one too"
    assert not reviser.finished
    again, _ = reviser.window()
    assert again.segments == ("s-1",)


def test_a_capped_window_takes_whole_segments_up_to_the_cap_and_at_least_one() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, context_s=0.0, lead_s=0.0, follow_s=0.0))
    reviser.add(final("s-0", [("one", 1.0), ("two", 1.4)]))
    reviser.add(final("s-1", [("three", 3.0), ("four", 3.4)]))
    reviser.add(final("s-2", [("five", 5.0)]))
    window, _ = reviser.window(max_s=3.0)
    assert window.segments == ("s-0", "s-1")  # s-2 would end 4.3 s after the start
    reviser.apply(window, result([("one", 1.0), ("two", 1.4), ("three", 3.0), ("four", 3.4)]), 0.0)
    tiny, _ = reviser.window(max_s=0.1)
    assert tiny.segments == ("s-2",)


def test_a_segment_is_read_with_the_audio_after_it_whose_words_are_left_out() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, idle_s=0.5, follow_s=3.0, lead_s=0.0))
    reviser.add(final("s-0", [("do", 1.0), ("lock.", 1.4)]))
    assert not reviser.due(3.0)  # not yet followed by 3 s of audio
    assert reviser.due(4.7)
    window, _ = reviser.window(audio_end=4.7, later_speech=2.9)
    assert (window.start, window.end, window.new_to) == (1.0, 4.7, 2.9)
    # both words in the pause are stretched: this sentence's last one into
    # it, the next sentence's first one back into it; each goes to its side
    decoded = (
        Word(0.0, 0.3, " to", 0.99),
        Word(0.4, 1.2, " lock.", 0.99),
        Word(0.75, 2.3, " Goodbye", 0.99),
        Word(2.3, 2.6, " now.", 0.99),
    )
    [caption] = reviser.apply(window, DecodeResult(decoded, "en", 1.0, 0.01, -0.2, 1.2), 1.0)
    assert (caption.segment_id, caption.text) == ("s-0", "to lock.")


def test_without_speech_after_the_segments_nothing_is_left_out() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, idle_s=0.5, follow_s=3.0, lead_s=0.0))
    reviser.add(final("s-0", [("do", 1.0), ("lock.", 1.4)]))
    window, _ = reviser.window(audio_end=4.7)
    assert window.new_to == float("inf")
    decoded = result([("to", 1.0), ("lock.", 1.4)], offset=1.0)
    [caption] = reviser.apply(window, decoded, 1.0)
    assert caption.text == "to lock."


def test_only_segments_followed_by_their_right_context_join_a_window() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, follow_s=3.0, lead_s=0.0))
    reviser.add(final("s-0", [("one", 1.0)]))
    reviser.add(final("s-1", [("two", 3.0)]))
    window, _ = reviser.window(audio_end=5.0)
    assert window.segments == ("s-0",)
    assert window.end == 4.3


def test_a_revised_word_stretched_past_the_lead_is_heard_again_not_repeated() -> None:
    opts = RevisionOptions(min_window_s=1.0, follow_s=0.0, context_s=5.0, lead_s=0.5)
    reviser = Reviser(opts)
    reviser.add(final("s-0", [("do", 1.0), ("lock.", 1.4)]))
    window, _ = reviser.window()
    # the revision stretched its last word's time well into the pause
    stretched = DecodeResult(
        (Word(1.0, 1.3, " to", 0.99), Word(1.3, 2.9, " lock.", 0.99)), "en", 1.0, 0.01, -0.2, 1.2
    )
    assert len(reviser.apply(window, stretched, 0.0)) == 1
    reviser.add(final("s-1", [("Goodbye.", 3.0)]))
    window, _ = reviser.window()
    assert window.new_from == 2.5
    assert [w.text for w in window.heard] == [" to", " lock."]
    decoded = result([("to", 1.0), ("lock.", 1.3), ("Goodbye.", 3.0)], offset=window.start)
    assert reviser.apply(window, decoded, window.start) == []  # "lock." is not s-1's
    assert reviser.confirmed_segments == 1


def test_a_decode_that_lost_the_words_is_not_trusted() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0))
    reviser.add(final("s-0", [("one", 1.0), ("two", 1.4), ("three", 1.8), ("four", 2.2)]))
    window, _ = reviser.window()
    assert reviser.apply(window, result([("Thank", 1.0)]), 0.0) == []
    assert reviser.rejected_windows == 1
    assert reviser.confirmed_segments == 1


def test_a_segment_read_with_far_more_words_keeps_its_live_text() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0))
    reviser.add(final("s-0", [("Press", 1.0), ("four.", 1.4)]))
    reviser.add(final("s-1", [("No", 3.0), ("empty", 3.3), ("conferences.", 3.6)]))
    window, _ = reviser.window()
    # s-1 read as itself, the next sentence and itself again, all timed within it
    looped = " ".join(["no empty conferences. press one to switch."] * 2).split()
    decoded = result(
        [("Press", 1.0), ("four.", 1.4)] + [(w, 3.0 + 0.1 * i) for i, w in enumerate(looped)]
    )
    assert reviser.apply(window, decoded, 0.0) == []
    assert reviser.confirmed_segments == 2
    # a word or two more is a reading, not a loop
    reviser.add(final("s-2", [("Dial", 5.0), ("again.", 5.4)]))
    window, _ = reviser.window()
    [caption] = reviser.apply(
        window, result([("Please", 4.8), ("dial", 5.0), ("it", 5.2), ("again.", 5.4)]), 0.0
    )
    assert caption.text == "Please Dial it again."


def test_waits_for_enough_speech_or_a_pause() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=8.0, idle_s=2.0, follow_s=0.0))
    reviser.add(final("s-0", [("one", 1.0)]))
    assert not reviser.due(2.0)
    assert reviser.due(3.4)  # 2 s after the segment ended
    reviser.add(final("s-1", [("two", 9.0)]))
    assert reviser.due(9.5)  # 8 s of final speech


def test_memory_is_bounded_and_drops_are_counted() -> None:
    reviser = Reviser(RevisionOptions(keep_s=60.0))
    for i in range(100):
        reviser.add(final(f"s-{i}", [("word", 2.0 * i)]))
        reviser.cap(2.0 * i + 1.0)
    kept_from = reviser.keep_from
    assert kept_from is not None
    assert 199.0 - kept_from <= 60.0  # the heard-again context included
    assert reviser.dropped_segments == 75


def test_at_close_only_the_last_window_is_revised() -> None:
    reviser = Reviser(RevisionOptions(max_window_s=28.0))
    for i in range(30):
        reviser.add(final(f"s-{i}", [("word", 2.0 * i)]))
    reviser.close()
    window, _ = reviser.window(audio_end=58.3)
    assert window.end - window.start <= 28.0
    assert window.segments[-1] == "s-29"
    assert reviser.dropped_segments == 30 - len(window.segments)
    reviser.apply(window, result([("word", 2.0 * i) for i in range(30)]), 0.0)
    assert reviser.finished


def test_words_go_to_the_segment_they_fall_in_or_the_nearer_one() -> None:
    spans = [(1.0, 2.0), (3.0, 4.0)]
    ws = words([("a", 0.2), ("b", 1.5), ("c", 2.0), ("d", 2.6), ("e", 3.5), ("f", 5.0)])
    assert ["".join(w.text for w in g) for g in assign(ws, spans)] == [" a b c", " d e f"]


# -- policy + scheduler -----------------------------------------------------------


@dataclass
class Misheard(ToneRecognizer):
    """Hears "two" as "one" (unsure of it: 0.6) in short (live) decodes;
    ``clear_s`` or more of audio, right."""

    clear_s: float = 3.0

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        out = super().decode(requests)
        fixed = []
        for req, res in zip(requests, out, strict=True):
            if len(req.audio) / SAMPLE_RATE < self.clear_s:
                res = replace(
                    res,
                    words=tuple(
                        replace(w, text=" one", probability=0.6) if w.text == " two" else w
                        for w in res.words
                    ),
                )
            fixed.append(res)
        return fixed


def run(
    audio: np.ndarray, options: PolicyOptions
) -> tuple[list[Emitted], list[Review], StreamPolicy]:
    policy = StreamPolicy(EnergyVad(), options)
    events: list[Emitted] = []
    reviews: list[Review] = []
    replay(
        Scheduler(Misheard()),
        [policy],
        [audio],
        pace=Pace.NONE,
        on_caption=events.append,
        on_review=reviews.append,
    )
    return events, reviews, policy


def test_revision_replaces_only_the_misheard_segment() -> None:
    audio = synth(["hello", "there.", "|", "press", "two", "|", "good", "morning."])
    opts = PolicyOptions(language="en", revision=RevisionOptions(min_window_s=2.0))
    events, reviews, policy = run(audio, opts)
    live = {
        e.caption.segment_id: e.caption.text
        for e in events
        if e.caption.final and not e.caption.revision
    }
    revisions = [e.caption for e in events if e.caption.revision]
    assert "press one" in [t.lower() for t in live.values()]
    assert len(revisions) >= 1
    for c in revisions:
        assert c.final
        assert c.segment_id in live
        assert "two" in c.text.lower()
    assert {c.segment_id for c in revisions} == {
        sid for sid, text in live.items() if "one" in text.lower()
    }
    assert {r.reviewed.segment_id for r in reviews} == set(live)
    assert policy.done
    assert policy.reviser is not None
    assert policy.reviser.finished


def test_no_revision_while_a_stream_talks_or_waits_for_its_final() -> None:
    vad = EnergyVad()
    quiet = StreamPolicy(
        vad, PolicyOptions(language="en", revision=RevisionOptions(idle_s=0.5, follow_s=0.0))
    )
    talker = StreamPolicy(vad, PolicyOptions(language="en"))
    sched = Scheduler(ToneRecognizer(), SchedulerOptions(revise_early_in_utterance_s=0.0))
    sched.add(quiet)
    sched.add(talker)
    quiet.feed(synth(["hello", "there."]))
    while quiet.finalizing or quiet.speaking:
        sched.run(sched.next_batch())
    quiet.feed(silence(1.0))
    talker.feed(synth(["good", "morning."], tail_s=0.0))
    assert talker.speaking
    kinds = {a.job.kind for a in sched.next_batch()}
    assert JobKind.REVISION not in kinds
    talker.feed(silence(1.0))
    while talker.finalizing or talker.speaking:
        batch = sched.next_batch()
        assert JobKind.REVISION not in {a.job.kind for a in batch}
        sched.run(batch)
    [revision] = sched.next_batch()
    assert revision.job.kind is JobKind.REVISION
    assert revision.policy is quiet
    assert sched.next_batch() == []  # never the same segments twice at once
    sched.run([revision])
    assert quiet.reviser is not None
    assert quiet.reviser.confirmed_segments == 1


def test_no_revision_while_many_streams_spoke_lately() -> None:
    vad = EnergyVad()
    opts = PolicyOptions(language="en", revision=RevisionOptions(idle_s=0.5, follow_s=0.0))
    streams = [StreamPolicy(vad, opts) for _ in range(3)]
    sched = Scheduler(
        ToneRecognizer(), SchedulerOptions(max_talkers_to_revise=2, talker_recent_s=3.0)
    )
    for p in streams:
        sched.add(p)
    for p in streams:
        p.feed(synth(["hello", "there."]))
    while any(p.finalizing or p.speaking for p in streams):
        sched.run(sched.next_batch())
    for p in streams:
        assert p.reviser is not None
        assert p.reviser.due(p.audio_end)
    # three streams spoke within the last 3 s: no spare capacity for revisions
    assert all(p.silent_s < 3.0 for p in streams)
    assert sched.next_batch() == []
    # two of them keep quiet long enough: the third one's speech is no crowd
    for p in streams:
        p.feed(silence(1.0))
    streams[0].feed(silence(1.5))
    streams[1].feed(silence(1.5))
    assert streams[2].silent_s < 3.0 <= min(streams[0].silent_s, streams[1].silent_s)
    [revision] = sched.next_batch()
    assert revision.job.kind is JobKind.REVISION


def test_silent_s_counts_from_the_end_of_the_last_utterance() -> None:
    p = StreamPolicy(EnergyVad(), PolicyOptions(language="en"))
    assert p.silent_s == float("inf")
    p.feed(speaking(["hello", "there."]))
    assert p.speaking
    assert p.silent_s == 0.0
    p.feed(silence(2.0))
    assert not p.speaking
    assert 1.0 < p.silent_s <= 2.0


def test_a_short_revision_may_start_early_in_an_utterance_when_allowed() -> None:
    vad = EnergyVad()
    opts = PolicyOptions(language="en", revision=RevisionOptions(idle_s=0.5, follow_s=0.0))
    quiet = StreamPolicy(vad, opts)
    sched = Scheduler(
        ToneRecognizer(),
        SchedulerOptions(revise_early_in_utterance_s=1.0, max_window_in_utterance_s=5.0),
    )
    sched.add(quiet)
    quiet.feed(synth(["hello", "there."]))
    while quiet.finalizing or quiet.speaking:
        sched.run(sched.next_batch())
    quiet.feed(silence(0.2))
    speech = synth(["how", "are", "you", "today?"], lead_s=0.0, tail_s=0.0)
    quiet.feed(speech[: SAMPLE_RATE // 2])
    assert quiet.speaking
    assert quiet.pending_s < 1.0
    sched.run(sched.next_batch())  # the utterance's interim first
    [revision] = sched.next_batch()
    assert revision.job.kind is JobKind.REVISION
    assert revision.job.end - revision.job.start <= 5.0
    sched.run([revision])
    # later in the utterance no revision starts
    quiet.feed(speech[SAMPLE_RATE // 2 :])
    assert quiet.pending_s >= 1.0
    assert quiet.speaking
    assert JobKind.REVISION not in {a.job.kind for a in sched.next_batch()}


def test_kept_audio_stays_bounded_when_revisions_never_get_the_model() -> None:
    keep = 20.0
    opts = PolicyOptions(language="en", revision=RevisionOptions(keep_s=keep))
    talker = StreamPolicy(EnergyVad(), PolicyOptions(language="en"))
    p = StreamPolicy(EnergyVad(), opts)
    sched = Scheduler(ToneRecognizer())
    sched.add(p)
    sched.add(talker)  # talks all the time: no revision of p's speech may start
    audio = synth(["hello", "there.", "|", "how", "are", "you", "today?", "|"] * 20)
    chatter = synth(["please", "press", "one", "two", "the", "key."] * 200, tail_s=0.0)
    step = SAMPLE_RATE // 2
    for i in range(0, len(audio), step):
        p.feed(audio[i : i + step])
        talker.feed(chatter[i : i + step])
        batch = sched.next_batch()
        assert not any(a.policy is p and a.job.kind is JobKind.REVISION for a in batch)
        sched.run(batch)
        assert p.kept_s <= keep + LEFT_CONTEXT_S + 1.0
    assert p.reviser is not None
    assert p.reviser.dropped_segments > 0


def test_a_less_confident_revision_does_not_replace_the_live_words() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0))
    reviser.add(final("s-0", [("unknown", 1.0), ("caller", 1.4)]))  # probability 0.9
    window, _ = reviser.window()
    unsure = DecodeResult(
        (Word(1.0, 1.3, " unknown", 0.9), Word(1.4, 1.7, " color", 0.6)), "en", 1.0, 0.01, -0.2, 1.2
    )
    assert reviser.apply(window, unsure, 0.0) == []
    assert reviser.confirmed_segments == 1


def test_a_first_word_stretched_back_into_the_context_is_kept() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, context_s=10.0))
    reviser.add(final("s-0", [("one", 1.0), ("two", 1.4)]))
    first, _ = reviser.window()
    reviser.apply(first, result([("one", 1.0), ("two", 1.4)]), 0.0)
    reviser.add(final("s-1", [("You", 3.0), ("are", 3.4)]))
    window, _ = reviser.window()
    # the aligner put "you" 0.8 s early, before the new segment (and its lead)
    heard = result([("one", 1.0), ("two", 1.4), ("you", 1.9), ("were", 3.4)])
    [caption] = reviser.apply(window, heard, 0.0)
    assert caption.text == "You were"  # the live word where both agree


def test_losing_only_the_first_words_is_no_revision() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, context_s=0.0))
    reviser.add(final("s-0", [("You", 1.0), ("are", 1.4), ("muted.", 1.8)]))
    window, _ = reviser.window()
    assert reviser.apply(window, result([("are", 1.4), ("muted.", 1.8)]), 0.0) == []
    assert reviser.confirmed_segments == 1


class _LongSentences(StreamPolicy):
    """A speaker whose shorter segments last 8 s (as measured by the policy)."""

    @property
    def short_segment_s(self) -> float:
        return 8.0


@pytest.mark.parametrize(
    ("policy_type", "allowed"), [(StreamPolicy, False), (_LongSentences, True)]
)
def test_a_speaker_with_long_sentences_gets_revisions_later_in_an_utterance(
    policy_type: type[StreamPolicy], allowed: bool
) -> None:
    opts = PolicyOptions(language="en", revision=RevisionOptions(idle_s=0.5, follow_s=0.0))
    talker = policy_type(EnergyVad(), opts)
    sched = Scheduler(
        ToneRecognizer(),
        SchedulerOptions(revision_margin_s=1.5, revision_overdue_s=float("inf")),
    )
    sched.add(talker)
    talker.feed(synth(["hello", "there."]))
    while talker.finalizing or talker.speaking:
        sched.run(sched.next_batch())
    talker.feed(silence(0.2))
    talker.feed(speaking(["please", "press", "one", "two"] * 2, lead_s=0.0))
    assert talker.speaking
    assert 2.0 < talker.pending_s < 8.0 - 1.5
    batch = sched.next_batch()
    while batch and JobKind.REVISION not in {a.job.kind for a in batch}:
        sched.run(batch)
        batch = sched.next_batch()
    assert (JobKind.REVISION in {a.job.kind for a in batch}) is allowed


@dataclass
class _Talking:
    """What a talker's scheduler handed out while it talked on (see :func:`_talk_on`)."""

    revision: Assignment | None
    overdue_s: float
    """The talker's revision_overdue_s when the revision came (or at the end)."""
    into_s: float
    """How far into its utterance (pending_s) the talker was then."""
    speaking: bool


def _talk_on(options: SchedulerOptions) -> _Talking:
    """A talker said one sentence (final) and talks on for 5 s: the first revision
    its scheduler hands out meanwhile, if any (everything else is run)."""
    opts = PolicyOptions(language="en", revision=RevisionOptions(idle_s=0.5, follow_s=0.0))
    talker = StreamPolicy(EnergyVad(), opts)
    sched = Scheduler(ToneRecognizer(), options)
    sched.add(talker)
    talker.feed(synth(["hello", "there."]))
    while talker.finalizing or talker.speaking:
        sched.run(sched.next_batch())
    talker.feed(silence(0.2))
    speech = speaking(["please", "press", "one", "two"] * 3, lead_s=0.0)
    step = SAMPLE_RATE // 4
    revision, overdue, into = None, 0.0, 0.0
    for i in range(0, len(speech), step):
        talker.feed(speech[i : i + step])
        overdue, into = talker.revision_overdue_s, talker.pending_s
        batch = sched.next_batch()
        revision = next((a for a in batch if a.job.kind is JobKind.REVISION), None)
        if revision is not None:
            break
        sched.run(batch)
    return _Talking(revision, overdue, into, talker.speaking)


def test_an_overdue_revision_goes_before_the_talkers_own_interims() -> None:
    # no revision early in an utterance: only being overdue lets one in
    talking = _talk_on(
        SchedulerOptions(
            revise_early_in_utterance_s=0.0, revision_overdue_s=3.0, overdue_extra_s=10.0
        )
    )
    assert talking.revision is not None
    assert talking.speaking
    assert talking.overdue_s >= 3.0
    job = talking.revision.job
    assert job.end - job.start <= SchedulerOptions().max_window_in_utterance_s


@pytest.mark.parametrize("late_s", [0.0, 3.0])
def test_record_first_lets_a_long_overdue_revision_start_anywhere_in_an_utterance(
    late_s: float,
) -> None:
    # never early in an utterance, nor as overdue: only late_revision_overdue_s lets one in
    talking = _talk_on(
        SchedulerOptions(
            revise_early_in_utterance_s=0.0,
            revision_overdue_s=1.0,
            overdue_extra_s=0.0,
            late_revision_overdue_s=late_s,
        )
    )
    assert talking.speaking
    if not late_s:
        assert talking.revision is None
        return
    assert talking.revision is not None
    assert talking.overdue_s >= late_s
    assert talking.into_s > 1.0  # past the early limit and overdue_extra_s (both 0 here)
    job = talking.revision.job
    assert job.end - job.start <= SchedulerOptions().max_window_in_utterance_s


def test_short_segment_s_is_the_first_quartile_of_the_latest_segments() -> None:
    policy = StreamPolicy(EnergyVad(), PolicyOptions(language="en"))
    assert policy.short_segment_s == 0.0
    for n in (2, 3, 4, 5, 6, 7, 8, 9):
        policy.feed(synth(["one"] * n))
    # 8 segments of 2..9 words of 0.42 s: the third shortest has 4 words
    assert 4 * 0.42 < policy.short_segment_s < 5 * 0.42


def test_the_next_sentence_of_the_same_utterance_is_right_context_too() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, idle_s=0.5, follow_s=2.0, lead_s=0.0))
    reviser.add(final("s-0", [("do", 1.0), ("lock.", 1.4)]))
    reviser.add(final("s-1", [("Goodbye.", 1.6)]))  # cut off at the sentence end
    window, _ = reviser.window(audio_end=3.8)  # s-1 is not followed by 2 s yet
    assert window.segments == ("s-0",)
    assert window.new_to == 1.7
    decoded = result([("to", 1.0), ("lock.", 1.4), ("Goodbye.", 1.75)], offset=1.0)
    [caption] = reviser.apply(window, decoded, 1.0)
    assert caption.text == "to lock."


def test_the_prompt_said_again_at_the_start_of_the_decode_is_left_out() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, context_s=0.0, follow_s=0.0))
    reviser.add(final("s-0", [("the", 1.0), ("conference.", 1.4)]))
    first, _ = reviser.window()
    reviser.apply(first, result([("the", 1.0), ("conference.", 1.4)]), 0.0)
    reviser.add(final("s-1", [("Dial", 3.0), ("one.", 3.4)]))
    window, prompt = reviser.window()
    assert prompt == "the conference."
    decoded = result([("conference.", 2.6), ("Dial", 3.0), ("one.", 3.4)])
    assert reviser.apply(window, decoded, 0.0) == []
    assert reviser.confirmed_segments == 2


def test_numbers_written_the_other_way_are_not_a_revision() -> None:
    reviser = Reviser(RevisionOptions(min_window_s=1.0, follow_s=0.0))
    reviser.add(
        replace(final("s-0", [("Cinco", 1.0), ("para", 1.4), ("salir.", 1.8)]), language="es")
    )
    window, _ = reviser.window()
    decoded = DecodeResult(
        tuple(
            Word(t, t + 0.3, x, 0.99) for x, t in ((" 5", 1.0), (" para", 1.4), (" salir.", 1.8))
        ),
        "es",
        1.0,
        0.01,
        -0.2,
        1.2,
    )
    assert reviser.apply(window, decoded, 0.0) == []
    assert reviser.confirmed_segments == 1


def test_a_digit_read_as_a_word_that_is_no_number_is_a_revision() -> None:
    """Live "4." where the speaker said "for": the revision's "For," is a better
    reading, not the same number written the other way."""
    reviser = Reviser(RevisionOptions(min_window_s=1.0, follow_s=0.0))
    reviser.add(final("s-0", [("4.", 1.0)]))
    window, _ = reviser.window()
    decoded = DecodeResult((Word(1.0, 1.3, " For,", 0.99),), "en", 1.0, 0.01, -0.2, 1.2)
    [revision] = reviser.apply(window, decoded, 0.0)
    assert revision.text == "For,"
    assert revision.segment_id == "s-0"


def test_words_lost_at_either_end_are_not_a_revision() -> None:
    """ "... to other participants." read as "... to other": the window's edge cut
    the last word, not a better reading (as a lost first word is not)."""
    for decoded in (
        ["To", "increase", "your", "volume", "to", "other"],
        ["increase", "your", "volume", "to"],
    ):
        reviser = Reviser(RevisionOptions(min_window_s=1.0, follow_s=0.0, min_word_ratio=0.5))
        spoken = ["To", "increase", "your", "volume", "to", "other", "participants."]
        reviser.add(final("s-0", [(w, 1.0 + 0.3 * i) for i, w in enumerate(spoken)]))
        window, _ = reviser.window()
        new = [(w, 1.0 + 0.3 * spoken.index(w)) for w in decoded]
        assert reviser.apply(window, result(new), 0.0) == []
        assert reviser.confirmed_segments == 1


def test_a_revision_may_not_add_words_the_next_segment_says() -> None:
    # held-out speech: "To mute or unmute yourself." revised as "... yourself. Press One
    # to listen to." while the next segment already read "Press 1 to listen to."
    reviser = Reviser(RevisionOptions(min_window_s=1.0))
    reviser.add(final("s-0", [("To", 1.0), ("mute", 1.3), ("or", 1.6)]))
    reviser.add(final("s-1", [("unmute", 1.9), ("yourself.", 2.2)]))
    reviser.add(final("s-2", [("Press", 3.6), ("1", 3.9), ("to", 4.2), ("listen", 4.5)]))
    window, _ = reviser.window(max_s=6.0)
    assert window.segments == ("s-0", "s-1")
    decoded = result(
        [
            ("To", 1.0),
            ("mute", 1.3),
            ("or", 1.6),
            ("unmute", 1.9),
            ("yourself.", 2.2),
            ("Press", 2.45),
            ("One", 2.55),
            ("to", 2.65),
        ]
    )
    assert reviser.apply(window, decoded, 0.0) == []
    assert reviser.unaligned_revisions == 1
    assert reviser.revised_segments == 0


def test_a_revision_may_not_repeat_the_end_of_the_segment_before() -> None:
    live = words([("To", 2.0), ("reset", 2.3), ("volume.", 2.6)])
    before = words([("the", 0.7), ("default", 1.0), ("level.", 1.3)])
    repeated = words(
        [("default", 1.7), ("level", 1.8), ("to", 2.0), ("reset", 2.3), ("volume.", 2.6)]
    )
    assert crosses_boundary(live, repeated, before, (), (1.6, 2.9))
    # one added word: a repeat only if it is the neighbour's word at that edge
    assert crosses_boundary(live, repeated[1:], before, (), (1.6, 2.9))
    assert not crosses_boundary(live, [words([("So", 1.8)])[0], *live], before, (), (1.6, 2.9))


def test_a_word_recovered_at_an_edge_is_still_a_revision() -> None:
    # "message has been saved." -> "Your message has been saved.": nothing of a neighbour
    reviser = Reviser(RevisionOptions(min_window_s=1.0, context_s=0.0))
    reviser.add(final("s-0", [("Goodbye.", 0.5)]))
    reviser.add(final("s-1", [("message", 2.3), ("has", 2.6), ("been", 2.9), ("saved.", 3.2)]))
    window, _ = reviser.window()
    decoded = result(
        [
            ("Goodbye.", 0.5),
            ("Your", 2.0),
            ("message", 2.3),
            ("has", 2.6),
            ("been", 2.9),
            ("saved.", 3.2),
        ]
    )
    captions = reviser.apply(window, decoded, 0.0)
    assert [c.text for c in captions] == ["Your message has been saved."]
    assert reviser.unaligned_revisions == 0


def test_a_revision_timed_outside_its_segment_is_dropped() -> None:
    assert crosses_boundary(
        words([("one", 1.0)]), words([("one", 1.0), ("two", 2.0)]), (), (), (1.0, 1.3)
    )
    assert not crosses_boundary(
        words([("one", 1.0)]), words([("won", 1.0), ("two", 1.3)]), (), (), (1.0, 1.6)
    )
