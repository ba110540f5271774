"""Term recall on scripted reference/transcript pairs."""

from __future__ import annotations

import math

from roomscribe.bench.terms import occurrences, term_recall

REFERENCE = (
    "Asterisk is an Open Source PBX and IVR platform. "
    "Dial 500 for an Inter-Asterisk Exchange or IAX connection to Digium. "
    "To check voicemail, dial 8500. SIP. Skinny."
)
TERMS = ("Asterisk", "Inter-Asterisk Exchange", "PBX", "IAX", "Digium", "voicemail", "DAHDI")


def test_counts_each_terms_occurrences_case_and_punctuation_aside() -> None:
    hyp = (
        "asterisk is an open source P.B.X. and IVR platform. "
        "Dial 500 for an inter-asterisk exchange or IAX connection to Digiam. "
        "To check VOICEMAIL dial 8500."
    )
    r = term_recall(REFERENCE, hyp, TERMS)
    said = {c.term: c.said for c in r.counts}
    # "Asterisk" is also said inside "Inter-Asterisk Exchange": both count it
    assert said == {
        "Asterisk": 2,
        "Inter-Asterisk Exchange": 1,
        "PBX": 1,
        "IAX": 1,
        "Digium": 1,
        "voicemail": 1,
        "DAHDI": 0,
    }
    assert r.said == 7
    # PBX spelled with dots and the misheard Digium are missed
    assert r.recalled == 5
    assert r.missed == ("PBX", "Digium")
    assert r.recall == 5 / 7
    assert r.extra == 0


def test_writing_a_term_more_often_than_said_is_extra_not_recall() -> None:
    hyp = "Asterisk Asterisk Asterisk is a PBX PBX. Call DAHDI."
    r = term_recall("Asterisk is a PBX.", hyp, ("Asterisk", "PBX", "DAHDI"))
    assert (r.said, r.recalled, r.extra) == (2, 2, 4)
    assert r.recall == 1.0


def test_multi_word_terms_match_as_a_run_of_words() -> None:
    terms = ("Comedian Mail",)
    assert term_recall("Welcome to Comedian Mail.", "welcome to comedian, mail", terms).recall == 1
    assert term_recall("Welcome to Comedian Mail.", "a comedian's mail", terms).recall == 0


def test_no_term_said_is_nan_not_perfect() -> None:
    r = term_recall("Press one now.", "Press one now.", ("Asterisk",))
    assert r.said == 0
    assert math.isnan(r.recall)


def test_empty_transcript_recalls_nothing() -> None:
    assert term_recall(REFERENCE, "", TERMS).recall == 0


def test_occurrences_do_not_overlap() -> None:
    assert occurrences(["a", "a"], ["a", "a", "a"]) == 1
    assert occurrences(["a", "b"], ["a", "b", "x", "a", "b"]) == 2
    assert occurrences([], ["a"]) == 0
