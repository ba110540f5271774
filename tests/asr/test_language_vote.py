"""Language detection of one stream, fed scripted detections (no model)."""

from __future__ import annotations

import pytest

from roomscribe.asr.language_vote import LanguageGuess, LanguageVote, LanguageVoteOptions

OPTS = LanguageVoteOptions(lock_probability=0.6, min_audio_s=1.0)


def test_a_given_language_is_kept_whatever_decodes_detect() -> None:
    vote = LanguageVote(OPTS, "en")
    for _ in range(3):
        vote.vote("fr", 0.99, 5.0)
    assert vote.language == "en"


def test_two_confident_votes_lock_the_language() -> None:
    vote = LanguageVote(OPTS)
    vote.vote("es", 0.7, 1.5)
    assert vote.language is None
    vote.vote("es", 0.7, 1.5)
    assert vote.language == "es"


def test_votes_for_different_languages_do_not_add_up() -> None:
    vote = LanguageVote(OPTS)
    vote.vote("es", 0.7, 1.5)
    vote.vote("tl", 0.7, 1.5)  # a short Spanish prompt heard as Tagalog
    assert vote.language is None
    vote.vote("es", 0.7, 1.5)
    assert vote.language == "es"


def test_unsure_detections_do_not_vote() -> None:
    vote = LanguageVote(OPTS)
    for _ in range(5):
        vote.vote("tl", 0.59, 10.0)
    assert vote.language is None
    vote.vote("es", 0.6, 1.0)
    vote.vote("es", 0.6, 1.0)
    assert vote.language == "es"


@pytest.mark.parametrize(
    ("probability", "audio_s", "locked"),
    [(0.9, 2.0, "fr"), (0.95, 1.9, None), (0.89, 8.0, None)],
)
def test_one_very_sure_long_decode_locks_alone(
    probability: float, audio_s: float, locked: str | None
) -> None:
    vote = LanguageVote(OPTS)
    vote.vote("fr", probability, audio_s)
    assert vote.language == locked


def test_a_locked_language_does_not_flip() -> None:
    vote = LanguageVote(OPTS)
    vote.vote("fr", 0.95, 3.0)
    for _ in range(4):
        vote.vote("es", 0.99, 5.0)
    assert vote.language == "fr"


def test_setting_none_forgets_the_lock_and_its_votes() -> None:
    vote = LanguageVote(OPTS)
    vote.vote("es", 0.7, 1.0)
    vote.vote("es", 0.7, 1.0)
    vote.set_language("de")
    assert vote.language == "de"  # a given language wins over the detected one
    vote.set_language(None)
    assert vote.language is None
    vote.vote("es", 0.7, 1.0)  # the earlier votes were forgotten too
    assert vote.language is None
    vote.vote("it", 0.95, 2.5)
    assert vote.language == "it"


def test_segment_guess_is_the_majority_of_its_interims() -> None:
    vote = LanguageVote(OPTS)
    assert vote.segment_guess() is None
    vote.note_interim("es", 0.8, 1.0)
    vote.note_interim("id", 0.9, 1.5)
    assert vote.segment_guess() is None  # a tie is no majority
    vote.note_interim("es", 0.6, 2.0)
    assert vote.segment_guess() == LanguageGuess("es", pytest.approx(0.7))


def test_interims_of_little_audio_are_not_counted() -> None:
    vote = LanguageVote(OPTS)
    vote.note_interim("tl", 0.9, 0.5)
    vote.note_interim("tl", 0.9, 0.99)
    assert vote.segment_guess() is None
    vote.note_interim("es", 0.5, 1.0)
    assert vote.segment_guess() == LanguageGuess("es", 0.5)


def test_a_new_segment_starts_a_new_tally_but_keeps_the_votes() -> None:
    vote = LanguageVote(OPTS)
    vote.note_interim("fr", 0.8, 2.0)
    vote.vote("fr", 0.8, 2.0)
    vote.start_segment()
    assert vote.segment_guess() is None
    vote.vote("fr", 0.8, 2.0)
    assert vote.language == "fr"


def test_short_speech_is_decoded_in_the_fallback_language_and_does_not_vote() -> None:
    vote = LanguageVote(OPTS)
    assert vote.for_decode(0.3) == ("en", None)  # a first "Hello?" is English
    vote.vote("ko", 0.99, 0.3)  # whatever such a decode reports, it does not count
    vote.vote("ko", 0.99, 0.99)
    assert vote.language is None
    assert vote.for_decode(0.3) == ("en", None)
    assert vote.for_decode(1.0) == (None, None)  # enough speech: detect it


def test_short_speech_follows_the_language_the_votes_lean_to() -> None:
    vote = LanguageVote(OPTS)
    vote.vote("fr", 0.7, 2.5)
    assert vote.language is None  # one vote does not lock it
    assert vote.for_decode(0.5) == ("fr", None)
    assert vote.for_decode(0.5, LanguageGuess("es", 0.8)) == ("es", 0.8)
    vote.set_language("de")  # a given language always wins
    assert vote.for_decode(0.5, LanguageGuess("es", 0.8)) == ("de", None)
