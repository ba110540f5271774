"""The offline reading the bench compares against gets what the streams got."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.policy import PolicyOptions
from roomscribe.bench.reference import Reference, Utterance
from roomscribe.bench.runner import _offline_wer


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
