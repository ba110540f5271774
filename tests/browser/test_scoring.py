"""The looped-reference WER used by the browser tests."""

from __future__ import annotations

from tests.browser.scoring import windowed_wer

REFERENCE = "To decrease the volume. After the tone, say your message. Call forward on busy."


def test_a_rotation_of_the_loop_scores_zero() -> None:
    score = windowed_wer(REFERENCE, "the volume after the tone say your message call forward on")
    assert (score.edits, score.ref_words) == (0, 11)
    wrapped = windowed_wer(REFERENCE, "forward on busy. To decrease the volume.")
    assert wrapped.edits == 0


def test_errors_count_against_the_matched_window() -> None:
    score = windowed_wer(REFERENCE, "after the tone say your massage")
    assert (score.edits, score.ref_words, score.hyp_words) == (1, 6, 6)
    repeated = windowed_wer(REFERENCE, "after the tone say your message after the tone say your")
    assert repeated.edits == 5  # a sentence said twice is not free


def test_unrelated_text_scores_one() -> None:
    assert windowed_wer(REFERENCE, "completely unrelated words here").wer == 1.0
