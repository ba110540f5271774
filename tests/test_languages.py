"""The one language check for values from outside (attribute, data channel, offer)."""

from __future__ import annotations

import logging

import pytest

from roomscribe.languages import (
    WHISPER_LANGUAGES,
    UnknownLanguageError,
    parse_language,
    validate_language,
)


@pytest.mark.model
def test_the_list_is_whispers() -> None:
    from roomscribe.asr.whisper import WhisperBackend, WhisperOptions

    backend = WhisperBackend.load(WhisperOptions(model="base"))
    assert frozenset(backend.supported_languages) == WHISPER_LANGUAGES
    assert len(WHISPER_LANGUAGES) == 100


@pytest.mark.parametrize(("value", "code"), [(None, None), ("", None), ("auto", None)])
def test_auto(value: object, code: str | None) -> None:
    assert parse_language(value) is code
    assert validate_language(value, source="test") is code


@pytest.mark.parametrize("code", ["en", "de", "haw", "yue", "zh"])
def test_known_codes_pass(code: str) -> None:
    assert parse_language(code) == code
    assert validate_language(code, source="test") == code


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("zz", "unknown language 'zz'; Whisper knows: af, am,"),
        ("xyz", "unknown language 'xyz'"),
        ("English", "language code like 'en', not 'English'"),
        ("EN", "language code like 'en'"),
        ("en-US", "language code like 'en'"),
        ("e\u0301n", "language code like 'en'"),
        (42, "not 42"),
        (["en"], "not ['en']"),
        ("x" * 10_000, "not 'xxxxxxxxxxxxxx…"),  # a hostile value is not echoed whole
    ],
)
def test_unknown_values(value: object, message: str, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(UnknownLanguageError) as info:
        parse_language(value)
    assert message in str(info.value)
    assert len(str(info.value)) < 600
    with caplog.at_level(logging.WARNING, logger="roomscribe.languages"):
        assert validate_language(value, source="participant ada-1") is None
    (record,) = caplog.records
    assert record.getMessage().startswith("participant ada-1: ")
    assert "detecting the language instead" in record.getMessage()


def test_a_participant_attribute_goes_through_the_check(caplog: pytest.LogCaptureFixture) -> None:
    from roomscribe import protocol
    from roomscribe.livekit.captioner import spoken_language

    class Participant:  # the two fields spoken_language reads from an rtc.Participant
        def __init__(self, language: str) -> None:
            self.identity = "ada-3f9a1c2e"
            self.attributes = {protocol.ATTR_SPOKEN_LANGUAGE: language}

    assert spoken_language(Participant(" de ")) == "de"  # type: ignore[arg-type]
    assert spoken_language(Participant("auto")) is None  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="roomscribe.languages"):
        assert spoken_language(Participant("klingon")) is None  # type: ignore[arg-type]
    assert "participant ada-3f9a1c2e: language must be 'auto'" in caplog.text
