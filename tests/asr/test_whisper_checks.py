"""Pure checks of the Whisper backend that need no model."""

from __future__ import annotations

import numpy as np

from roomscribe.asr.backend import DecodeRequest, DecodeResult
from roomscribe.asr.events import Word
from roomscribe.asr.whisper import _misses_new_audio, _without_left_audio


def request(seconds: float, context_s: float) -> DecodeRequest:
    return DecodeRequest(
        np.zeros(int(seconds * 16000), np.float32), final=True, context_s=context_s
    )


def result(*words: tuple[str, float, float]) -> DecodeResult:
    return DecodeResult(tuple(Word(s, e, t, 0.9) for t, s, e in words), "en", 1.0, 0.0, -0.2, 1.2)


def test_decode_covering_the_new_audio_is_kept() -> None:
    r = result((" to", 0.0, 0.3), (" user.", 0.3, 0.8), (" Dial", 2.1, 2.4), (" 3.", 2.4, 2.9))
    assert not _misses_new_audio(r, request(3.2, context_s=2.0))


def test_decode_that_stopped_after_the_context_is_redone() -> None:
    r = result((" to", 0.0, 0.3), (" voicemail.", 0.3, 1.9))
    assert _misses_new_audio(r, request(3.2, context_s=2.0))


def test_decode_that_skipped_the_start_of_the_new_audio_is_redone() -> None:
    r = result((" to", 0.0, 0.3), (" conference.", 3.0, 3.5))
    assert _misses_new_audio(r, request(3.8, context_s=1.0))


def test_redone_decode_has_the_context_text_in_its_prompt() -> None:
    audio = np.arange(3 * 16000, dtype=np.float32)
    req = DecodeRequest(
        audio, prompt="Press 1.", final=True, context_s=1.0, context_text="Press 2."
    )
    plain = _without_left_audio(req)
    assert plain.prompt == "Press 1. Press 2."
    assert plain.context_s == 0.0
    assert plain.context_text == ""
    assert np.array_equal(plain.audio, audio[16000:])
