"""Silero voice activity detection (ONNX, via onnxruntime).

The Silero v5 ONNX file is bundled in ``roomscribe/asr/assets`` (MIT, 2.3 MB)
and checked against its SHA-256 before it is loaded; nothing here depends on
livekit-agents or its plugins.
One :class:`SileroModel` (an ONNX session) is shared by every stream; each
stream has its own :class:`VadState` (RNN state and context).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

FRAME_SAMPLES = 512
"""Silero v5 works on 32 ms frames at 16 kHz."""
CONTEXT_SAMPLES = 64
FRAME_SECONDS = FRAME_SAMPLES / 16_000
_RECENT_FRAMES = 1000
"""Frame probabilities remembered for choosing cut points (32 s)."""


SILERO_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
"""SHA-256 of the bundled ``assets/silero_vad.onnx`` (Silero VAD v5)."""


def bundled_model_path() -> Path:
    """Path of the bundled Silero ONNX file, after checking its SHA-256.

    Raises :class:`RuntimeError` when it is missing or not the known file.
    """
    path = Path(__file__).resolve().parent / "assets" / "silero_vad.onnx"
    if not path.is_file():
        raise RuntimeError(f"Silero VAD model missing at {path}; reinstall roomscribe")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SILERO_SHA256:
        raise RuntimeError(
            f"{path} has SHA-256 {digest}, expected {SILERO_SHA256}: the file is corrupt "
            "or was replaced; reinstall roomscribe"
        )
    return path


class VadState:
    """Per-stream recurrent state of the Silero model."""

    def __init__(self) -> None:
        self.rnn = np.zeros((2, 1, 128), dtype=np.float32)
        self.context = np.zeros((1, CONTEXT_SAMPLES), dtype=np.float32)


class VadModel(Protocol):
    """Speech probability of one 512-sample 16 kHz frame, given a stream's state."""

    def __call__(self, frame: NDArray[np.float32], state: VadState) -> float: ...


class SileroModel:
    """A thread-safe Silero VAD session shared by all streams."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(path or bundled_model_path()),
            sess_options=opts,
            providers=["CPUExecutionProvider"],
        )
        self._sr = np.array(16_000, dtype=np.int64)
        self._lock = threading.Lock()

    def __call__(self, frame: NDArray[np.float32], state: VadState) -> float:
        """Speech probability of one 512-sample frame; updates ``state``."""
        x = np.concatenate([state.context, frame.reshape(1, FRAME_SAMPLES)], axis=1)
        with self._lock:
            out, rnn = self._session.run(None, {"input": x, "state": state.rnn, "sr": self._sr})
        state.rnn = rnn
        state.context = x[:, -CONTEXT_SAMPLES:]
        return float(out.item())


@dataclass(frozen=True, slots=True)
class VadOptions:
    threshold: float = 0.5
    """Speech probability that starts speech."""
    neg_threshold: float = 0.35
    """Probability below which a frame counts as silence (hysteresis)."""
    min_speech_s: float = 0.1
    """Shorter blips are ignored."""
    min_silence_s: float = 0.12
    """A pause this long ends an utterance. In conversation turns follow each
    other by 0-0.3 s, so a longer wait delays most finals."""
    pad_s: float = 0.15
    """Audio kept before speech onset so the first phoneme is not clipped."""


@dataclass(frozen=True, slots=True)
class VadEvent:
    """Speech started (``speaking=True``) or ended, at ``time`` seconds."""

    speaking: bool
    time: float


class StreamingVad:
    """Turns 16 kHz audio into speech start/end events, frame by frame."""

    def __init__(self, model: VadModel, options: VadOptions | None = None) -> None:
        self._model = model
        self._opts = options or VadOptions()
        self._state = VadState()
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames = 0
        self._speaking = False
        self._run_start: float | None = None
        """Start of the current run of frames that disagree with ``_speaking``."""
        self._recent: deque[float] = deque(maxlen=_RECENT_FRAMES)
        """Speech probabilities of the latest frames (the last one is frame ``_frames - 1``)."""

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def pausing(self) -> bool:
        """Speaking, but the latest frames are silence (a pause may be starting)."""
        return self._speaking and self._run_start is not None

    @property
    def processed_s(self) -> float:
        return self._frames * FRAME_SECONDS

    def quietest(self, start: float, end: float) -> tuple[float, float] | None:
        """The least speech-like recent frame between ``start`` and ``end`` seconds.

        Returns the frame's centre time and speech probability, or ``None``
        when no frame of that span is still remembered.
        """
        first = self._frames - len(self._recent)
        lo = max(first, math.floor(start / FRAME_SECONDS))
        hi = min(self._frames, math.ceil(end / FRAME_SECONDS))
        if lo >= hi:
            return None
        best = min(range(lo, hi), key=lambda i: self._recent[i - first])
        return (best + 0.5) * FRAME_SECONDS, self._recent[best - first]

    def feed(self, audio: NDArray[np.float32]) -> list[VadEvent]:
        """Process ``audio``; returns the speech boundaries it completes."""
        buf = np.concatenate([self._pending, audio]) if self._pending.size else audio
        n = len(buf) // FRAME_SAMPLES
        events: list[VadEvent] = []
        for i in range(n):
            frame = buf[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
            p = self._model(np.ascontiguousarray(frame, dtype=np.float32), self._state)
            t = self._frames * FRAME_SECONDS
            self._frames += 1
            self._recent.append(p)
            event = self._step(p, t)
            if event is not None:
                events.append(event)
        self._pending = buf[n * FRAME_SAMPLES :].copy()
        return events

    def _step(self, p: float, t: float) -> VadEvent | None:
        opts = self._opts
        if not self._speaking:
            if p >= opts.threshold:
                if self._run_start is None:
                    self._run_start = t
                if t + FRAME_SECONDS - self._run_start >= opts.min_speech_s:
                    self._speaking = True
                    start = max(0.0, self._run_start - opts.pad_s)
                    self._run_start = None
                    return VadEvent(True, start)
            else:
                self._run_start = None
            return None
        if p < opts.neg_threshold:
            if self._run_start is None:
                self._run_start = t
            if t + FRAME_SECONDS - self._run_start >= opts.min_silence_s:
                self._speaking = False
                end = self._run_start
                self._run_start = None
                return VadEvent(False, end)
        else:
            self._run_start = None
        return None
