"""How the bench plays its recordings: staggered streams, the offline reading."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE
from roomscribe.asr.policy import PolicyOptions
from roomscribe.bench.reference import Reference, Utterance
from roomscribe.bench.runner import _offline_wer, _play


def test_the_offline_reader_gets_the_streams_language_and_vocabulary() -> None:
    calls: list[tuple[int, str | None, tuple[str, ...]]] = []

    def reader(audio: NDArray[np.float32], language: str | None, terms: tuple[str, ...]) -> str:
        calls.append((len(audio), language, terms))
        return "uno dos tres cuatro"

    ref = Reference("", (Utterance(0.0, 1.0, "uno dos"), Utterance(1.5, 2.0, "tres cinco")), "es")
    audio = np.zeros(32000, dtype=np.float32)
    policy = PolicyOptions(language="es", vocabulary=("Digium",))
    assert _offline_wer(reader, audio, ref, policy) == 0.25  # cinco -> cuatro
    assert calls == [(32000, "es", ("Digium",))]
    # no language given to the streams: the reference's
    _offline_wer(reader, audio, ref, PolicyOptions())
    assert calls[-1][1] == "es"
    assert _offline_wer(reader, audio, None, policy) is None


REF = Reference(
    "",
    (Utterance(0.5, 1.5, "one"), Utterance(2.5, 3.0, "two"), Utterance(4.0, 5.0, "three")),
)


def test_a_reference_turns_round_in_a_pause() -> None:
    assert REF.pause_after(0.0) == 2.0  # the middle of the first pause
    assert REF.pause_after(2.1) == 3.5
    assert REF.pause_after(4.5) == 0.0  # no pause after: not turned
    turned = REF.rotate(2.0, 6.0)
    assert [(u.start, u.end, u.text) for u in turned.utterances] == [
        (0.5, 1.0, "two"),
        (2.0, 3.0, "three"),
        (4.5, 5.5, "one"),
    ]
    assert turned.text == "two three one"


def test_staggered_streams_hear_the_recording_from_their_own_point() -> None:
    # a recording whose every sample says what second it belongs to
    audio = np.repeat(np.arange(6, dtype=np.float32), SAMPLE_RATE)
    same, ref = _play(audio, REF, 0.0)
    assert same is audio
    assert ref is REF
    turned, ref = _play(audio, REF, 1 / 3)  # from 2.0 s (the pause after 2.0 s)
    assert ref is not None
    assert len(turned) == len(audio)
    assert turned[0] == 2.0
    assert turned[-1] == 1.0
    # each utterance of the turned reference is where its audio went
    moved = (REF.utterances[1], REF.utterances[2], REF.utterances[0])
    for u, orig in zip(ref.utterances, moved, strict=True):
        assert turned[int(u.start * SAMPLE_RATE)] == int(orig.start)
    # without a reference the cut is where asked
    turned, _ = _play(audio, None, 0.5)
    assert turned[0] == 3.0
