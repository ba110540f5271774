"""The speech gate of one stream: where utterances begin and end, by Silero VAD.

Nothing is decoded on silence: the policy opens a segment where the gate
reports speech and closes it where the gate reports its end. An end is
reported :data:`TAIL_PAD_S` after the last speech frame, so a final decode
hears the word's decay too. The gate also remembers how speech-like the
recent frames were, for cutting between words (:meth:`SpeechGate.quiet_between`).

Plain synchronous code over :class:`~roomscribe.asr.vad.StreamingVad`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.vad import StreamingVad, VadEvent, VadModel, VadOptions

TAIL_PAD_S = 0.2
"""Silence after an utterance included in its final decode."""
_ONSET_SLACK_S = 0.1


class SpeechGate:
    """Turns a stream's audio into speech start and (padded) end events."""

    def __init__(self, model: VadModel, options: VadOptions) -> None:
        self._opts = options
        self._vad = StreamingVad(model, options)

    def feed(self, audio: NDArray[np.float32]) -> list[VadEvent]:
        """Run the VAD over ``audio``: the speech starts and ends it completes."""
        return [
            e if e.speaking else VadEvent(False, e.time + TAIL_PAD_S) for e in self._vad.feed(audio)
        ]

    @property
    def pausing(self) -> bool:
        """In speech, but the latest frames are silence: an end may come within
        ``min_silence_s``."""
        return self._vad.pausing

    @property
    def pause_below(self) -> float:
        """Speech probability under which a frame counts as a dip between words."""
        return self._opts.neg_threshold

    @property
    def onset_from(self) -> float:
        """Where the next reported speech start can begin at the earliest: a start is
        reported a little after it happened, and padded before."""
        opts = self._opts
        return self._vad.processed_s - (opts.pad_s + opts.min_speech_s + _ONSET_SLACK_S)

    def quiet_between(self, start: float, end: float, below: float) -> float | None:
        """The quietest moment between two words, if the VAD heard less speech there
        than ``below`` (a :data:`~roomscribe.asr.sentences.QuietFinder`).

        Word times from a decode are approximate; cutting where the VAD measured
        the least speech keeps a cut out of the middle of a word.
        """
        quiet = self._vad.quietest(start, end)
        if quiet is None or quiet[1] >= below:
            return None
        return quiet[0]
