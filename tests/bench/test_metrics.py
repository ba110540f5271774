"""The benchmark's metrics on hand-made caption logs."""

from __future__ import annotations

import pytest

from roomscribe.asr.events import Caption
from roomscribe.bench.metrics import RevisionEffects, bleu, revision_effects, score
from roomscribe.bench.reference import Reference, Utterance
from roomscribe.replay import Emitted

REFERENCE = Reference(
    "Press one now. Goodbye for now.",
    (Utterance(0.5, 2.0, "Press one now."), Utterance(3.0, 4.0, "Goodbye for now.")),
)


def caption(
    at: float, sid: str, text: str, start: float, end: float, *, final: bool = True
) -> Emitted:
    return Emitted(0, at, Caption(sid, text, final, (), start, end, "en"))


def test_latency_by_text_and_by_time() -> None:
    events = [
        caption(1.2, "a", "Press one", 0.5, 1.3, final=False),
        caption(2.6, "a", "Press one now.", 0.5, 1.9),
        caption(4.3, "b", "Good bye for cow.", 3.0, 3.8),  # last word misheard
    ]
    s = score(events, REFERENCE)
    assert s.final == pytest.approx((0.6,))  # "now" of the second utterance never matched
    assert s.first_shown == pytest.approx((0.6,))
    assert s.final_by_time == pytest.approx((0.6, 0.3))  # its end was final all the same
    assert s.wer == pytest.approx(3 / 6)  # good, bye for "goodbye"; cow for now


def test_latency_by_time_waits_for_the_last_piece_of_an_utterance() -> None:
    events = [
        caption(1.5, "a", "Press one", 0.5, 1.2),
        caption(2.8, "b", "now.", 1.6, 1.9),
        # the next utterance's first word, stretched back into the pause
        caption(4.5, "c", "Goodbye for now.", 1.8, 3.9),
    ]
    s = score(events, REFERENCE)
    assert s.final_by_time == pytest.approx((0.8, 0.5))
    assert s.final_by_time_p90 == pytest.approx(0.8)


def test_reference_end_with_trailing_silence_is_still_reached() -> None:
    # the utterance's words end at 1.3 s; its reference end (2.0 s) includes silence
    events = [caption(1.8, "a", "Press one now.", 0.5, 1.3)]
    s = score(events, REFERENCE)
    assert s.final_by_time == pytest.approx((-0.2,))


def test_a_recurring_word_is_aligned_only_against_speech_already_begun() -> None:
    # "conference" recurs: aligned against the whole reference, the misheard first
    # caption ties its "conference" with the second utterance's (not yet spoken)
    # one, so the first utterance would count as final only when the next arrived
    reference = Reference(
        "Welcome to the conference. Conference.",
        (
            Utterance(0.5, 2.0, "Welcome to the conference."),
            Utterance(3.0, 5.0, "Conference."),
        ),
    )
    events = [
        caption(2.4, "a", "Well come to the conference.", 0.5, 1.9),
        caption(5.6, "b", "Conference.", 3.0, 4.9),
    ]
    s = score(events, reference)
    assert s.final == pytest.approx((0.4, 0.6))
    assert s.first_shown == pytest.approx((0.4, 0.6))
    assert s.final_by_time == pytest.approx((0.4, 0.6))


def test_a_caption_before_any_speech_matches_nothing() -> None:
    events = [
        caption(0.2, "a", "Press one now.", 0.0, 0.2, final=False),
        caption(2.3, "a", "Press one now.", 0.5, 1.9),
    ]
    s = score(events, REFERENCE)
    assert s.first_shown == pytest.approx((0.3,))
    assert s.final == pytest.approx((0.3,))


def revision(at: float, sid: str, text: str) -> Emitted:
    return Emitted(0, at, Caption(sid, text, True, (), 0.0, 0.0, "en", revision=1))


def test_each_revision_is_judged_by_what_it_does_to_the_transcript() -> None:
    ref = "To mute or unmute yourself. Press 1 to listen to. Your message has been saved."
    live = [
        caption(1.0, "a", "To mute or unmute yourself.", 0.0, 1.0),
        caption(2.0, "b", "Press 1 to listen to.", 1.0, 2.0),
        caption(3.0, "c", "Message has been shaved.", 2.0, 3.0),
    ]
    events = [
        *live,
        # the held-out failure: the next segment's words pulled across the boundary
        revision(5.0, "a", "To mute or unmute yourself. Press One to listen to."),
        revision(6.0, "c", "Your message has been saved."),  # two words better
        revision(6.5, "b", "Press 1 to listen to"),  # punctuation only
    ]
    effects = revision_effects(events, ref)
    assert (effects.improved, effects.worsened, effects.neutral) == (1, 1, 1)
    assert effects.duplicated == 1
    assert revision_effects(live, ref) == RevisionEffects(0, 0, 0, 0)


REFS = [
    "You are now muted.",
    "All of our representatives are currently busy. Please stay on the line and the "
    "next available representative will answer your call shortly.",
    "To save this message, press 9.",
]
HYPS = [
    "You are now in my discretion.",
    "All our representatives are currently busy, please stay online and the next "
    "available representative will answer you shortly.",
    "Or to keep this message, press 9.",
]


def test_bleu_is_sacrebleus_corpus_bleu_on_normalized_words() -> None:
    # sacrebleu 2.6.0 corpus_bleu(tokenize="none") on the same normalized words
    # (lower case, no punctuation): 54.4479 for the three, 30.2138 for the first
    # alone (no 4-gram match: its 'exp' smoothing), 100 for an exact copy
    assert bleu(REFS, HYPS) == pytest.approx(54.4479, abs=1e-3)
    assert bleu(REFS[:1], HYPS[:1]) == pytest.approx(30.2138, abs=1e-3)
    assert bleu(["You are now muted."], ["you are now, MUTED"]) == pytest.approx(100)
    assert bleu(REFS, ["", "", ""]) == 0.0
    assert bleu(["You are now muted."], ["muted"]) == 0.0  # no 2-gram to count
