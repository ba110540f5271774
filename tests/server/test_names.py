"""Display names: trimmed, normalized, 1-64 characters, nothing hidden."""

from __future__ import annotations

import re

import pytest

from roomscribe.server.names import InvalidNameError, validate_display_name


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("  Ada Lovelace ", "Ada Lovelace"),
        ("Zoë", "Zoë"),
        ("Zoe\u0308", "Zoë"),  # decomposed: normalized to NFC
        ("李小龍", "李小龍"),
        ("José ❤️", "José ❤️"),  # the emoji variation selector is visible presentation
        ("a" * 64, "a" * 64),
        ("ada@example.org", "ada@example.org"),
    ],
)
def test_ordinary_names_pass(raw: str, name: str) -> None:
    assert validate_display_name(raw) == name


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "1-64 characters"),
        ("   \t ", "1-64 characters"),
        ("a" * 65, "1-64 characters"),
        ("Ada\x00", "U+0000"),
        ("Ada\tLovelace", "U+0009"),
        ("Ada\u200b", "U+200B"),  # zero-width space
        ("A\u200dda", "U+200D"),  # zero-width joiner
        ("\ufeffAda", "U+FEFF"),  # byte order mark
        ("Ada\u2060", "U+2060"),  # word joiner
        ("Ada\u202e", "U+202E"),  # right-to-left override
        ("Ada\u2028x", "U+2028"),  # line separator
        ("Ada\u2029x", "U+2029"),  # paragraph separator
        ("Ada\ue000", "U+E000"),  # private use
        ("\u3164", "U+3164"),  # Hangul filler: renders as nothing
        ("\u2800", "U+2800"),  # braille blank
        ("Ada\U000e0041", "U+E0041"),  # tag character
        ("Ada\U0010ffff", "U+10FFFF"),  # unassigned (noncharacter)
    ],
)
def test_hidden_or_empty_names_are_refused(raw: str, message: str) -> None:
    with pytest.raises(InvalidNameError, match=re.escape(message)):
        validate_display_name(raw)
