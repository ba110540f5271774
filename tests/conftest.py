"""Shared fixtures: evaluation audio and the real models."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.fixtures.livekit"]


def find_eval_dir() -> Path:
    """The read-prompt sessions (allison-a/b): ``artifacts/eval``, built there from the
    Debian Asterisk pack if missing. pytest-xdist workers build under one file lock, so
    none reads a WAV another is still writing."""
    from filelock import FileLock

    from roomscribe.bench import allison

    out = ROOT / "artifacts" / "eval"
    out.mkdir(parents=True, exist_ok=True)
    with FileLock(out / ".build.lock"):
        allison.build_all(out)
    return out


def read_wav(path: Path) -> NDArray[np.float32]:
    """A 16 kHz mono 16-bit WAV as float32."""
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16_000
        assert w.getnchannels() == 1
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype=np.int16).astype(np.float32) / 32768.0


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    return find_eval_dir()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = ROOT / "artifacts"
    path.mkdir(exist_ok=True)
    return path
