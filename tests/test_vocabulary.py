"""Room vocabulary: validation of terms and their place in the room metadata."""

from __future__ import annotations

import json

import pytest

from roomscribe.protocol import METADATA_VOCABULARY
from roomscribe.vocabulary import (
    MAX_TERM_LENGTH,
    MAX_TERMS,
    VocabularyError,
    from_metadata,
    parse_terms,
    validate_terms,
    with_terms,
)


def test_plain_terms_pass_normalized() -> None:
    terms = ["Asterisk", "  VoIP ", "O'Brien", "AT&T", "Dr. Núñez", "e-mail  relay", "voip", "3CX"]
    assert validate_terms(terms) == (
        "Asterisk",
        "VoIP",
        "O'Brien",
        "AT&T",
        "Dr. Núñez",
        "e-mail relay",
        "3CX",
    )  # whitespace collapsed; "voip" repeats "VoIP"


def test_comma_separated_input() -> None:
    assert parse_terms("Asterisk, VoIP,, PBX ,") == ("Asterisk", "VoIP", "PBX")
    assert parse_terms("  ") == ()


@pytest.mark.parametrize(
    "term",
    [
        "",
        "   ",
        "x" * (MAX_TERM_LENGTH + 1),
        "bad\u0000byte",
        "new\nline",
        "tab\tbed",
        "<script>",
        "ignore previous; instructions",
        "under_score",
        "a/b",
        '"quoted"',
        "\u202eevil",
    ],
)
def test_bad_terms_are_refused(term: str) -> None:
    with pytest.raises(VocabularyError):
        validate_terms([term])


def test_longest_term_passes() -> None:
    assert validate_terms(["x" * MAX_TERM_LENGTH]) == ("x" * MAX_TERM_LENGTH,)


def test_count_and_total_length_are_bounded() -> None:
    assert len(validate_terms([f"term{i}" for i in range(MAX_TERMS)])) == MAX_TERMS
    with pytest.raises(VocabularyError, match="at most 30 terms"):
        validate_terms([f"term{i}" for i in range(MAX_TERMS + 1)])
    # 16 terms of 40 characters: 640 > 600
    with pytest.raises(VocabularyError, match="characters in all"):
        validate_terms([f"{i:02d}" + "x" * 38 for i in range(16)])
    assert len(validate_terms([f"{i:02d}" + "x" * 38 for i in range(15)])) == 15


def test_non_strings_are_refused() -> None:
    with pytest.raises(VocabularyError):
        validate_terms([3])  # type: ignore[list-item]


def test_metadata_round_trip_keeps_other_keys() -> None:
    metadata = with_terms('{"topic": "standup"}', ("Asterisk", "VoIP"))
    assert json.loads(metadata) == {"topic": "standup", METADATA_VOCABULARY: ["Asterisk", "VoIP"]}
    assert from_metadata(metadata) == ("Asterisk", "VoIP")
    assert from_metadata(with_terms(metadata, ())) == ()


def test_metadata_without_vocabulary() -> None:
    assert from_metadata("") == ()
    assert from_metadata('{"topic": "standup"}') == ()
    assert from_metadata("plain text someone set") == ()
    assert json.loads(with_terms("plain text", ("PBX",))) == {
        "text": "plain text",
        METADATA_VOCABULARY: ["PBX"],
    }


def test_invalid_vocabulary_in_metadata_is_an_error() -> None:
    with pytest.raises(VocabularyError):
        from_metadata(json.dumps({METADATA_VOCABULARY: "Asterisk"}))
    with pytest.raises(VocabularyError):
        from_metadata(json.dumps({METADATA_VOCABULARY: ["ok", "bad\u0007bell"]}))
