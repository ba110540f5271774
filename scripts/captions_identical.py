"""Caption a file as ``roomscribe transcribe --format jsonl`` does, on a deterministic clock.

``--pace simulated`` charges each decode the wall time it took, so where
segments end (and so every caption) depends on the machine's load; ``--pace
none`` hands the policy all audio at once, which is not the live path. Here
the replay clock is the simulated one, but a decode is charged a fixed cost
per batch plus a cost per second of audio it decodes: the captions (events,
text, times) depend only on the code and the model, so two revisions of the
streaming core can be compared byte for byte (see ``captions_identical.sh``).

Usage: ``PYTHONPATH=TREE/agent python scripts/captions_identical.py FILE OUT.jsonl
[transcribe flags...]``; the flags go to ``roomscribe transcribe`` as given.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import SimpleNamespace

BATCH_COST_S = 0.05
"""Charged for every decoding call."""
AUDIO_COST = 0.08
"""Charged per second of audio decoded: about base on two cores."""


class FixedClock:
    """Stands in for the ``time`` module of :mod:`roomscribe.replay`."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def process_time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        raise AssertionError("the simulated pace never sleeps")


def main(argv: Sequence[str]) -> int:
    import roomscribe.replay
    from roomscribe.asr.backend import SAMPLE_RATE, DecodeRequest, DecodeResult
    from roomscribe.asr.whisper import WhisperBackend
    from roomscribe.cli import main as cli

    clock = FixedClock()
    roomscribe.replay.time = SimpleNamespace(  # type: ignore[assignment]
        perf_counter=clock.perf_counter, process_time=clock.process_time, sleep=clock.sleep
    )
    decode = WhisperBackend.decode

    def charged(self: WhisperBackend, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        results = decode(self, requests)
        audio_s = sum(len(r.audio) for r in requests) / SAMPLE_RATE
        clock.now += BATCH_COST_S + AUDIO_COST * audio_s
        return results

    WhisperBackend.decode = charged  # type: ignore[method-assign]
    file, out, *flags = argv
    return cli(["transcribe", file, "--format", "jsonl", "--pace", "simulated", "-o", out, *flags])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
