"""Everything roomscribe uses from faster-whisper and CTranslate2, in one place.

:mod:`roomscribe.asr.whisper` runs its own decoding loop on faster-whisper's
model; the pieces it needs (model loading, feature extraction, tokenizer,
encoder, batched generate, alignment, and a few helpers of ``transcribe.py``)
are reached only through :class:`WhisperModelAdapter`, so an upgrade of
faster-whisper touches this module alone. Imports are lazy: importing
roomscribe does not load CTranslate2.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

_PREPEND = "\"'“¿([{-"
_APPEND = "\"'.。,，!！?？:：”)]}、"


def pick_device(device: str, compute_type: str) -> tuple[str, str]:
    """Resolve ``auto`` device and compute type."""
    import ctranslate2

    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


class WhisperModelAdapter:
    """A loaded faster-whisper model, with the few operations the backend uses."""

    def __init__(self, model: Any) -> None:
        from faster_whisper.tokenizer import Tokenizer

        self._model = model
        self._tokenizer_cls = Tokenizer

    @classmethod
    def load(cls, path: str, device: str, compute_type: str, threads: int) -> WhisperModelAdapter:
        from faster_whisper import WhisperModel

        device, compute_type = pick_device(device, compute_type)
        cpu_threads = threads or (os.cpu_count() or 1)
        return cls(
            WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads)
        )

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    @property
    def supported_languages(self) -> list[str]:
        """Language codes the model can transcribe (``["en"]`` for ``*.en`` models)."""
        return list(self._model.supported_languages)

    def tokenizer(self, task: str, language: str | None) -> Any:
        return self._tokenizer_cls(
            self._model.hf_tokenizer, self.multilingual, task=task, language=language
        )

    def features(self, audio: NDArray[np.float32]) -> NDArray[np.float32]:
        """Log-mel features of (already padded) audio."""
        feats: NDArray[np.float32] = self._model.feature_extractor(audio, padding=0)
        return feats

    def encode(self, features: NDArray[np.float32]) -> Any:
        """Encoder output of a feature batch, left on the model's device."""
        import ctranslate2

        return self._model.model.encode(ctranslate2.StorageView.from_array(features), to_cpu=False)

    def detect_language(self, encoder_output: Any) -> list[tuple[str, float]]:
        """The most likely language code and its probability, per batch row."""
        detected = self._model.model.detect_language(encoder_output)
        return [(d[0][0][2:-2], float(d[0][1])) for d in detected]

    def generate(self, encoder_output: Any, prompts: list[list[int]], **options: Any) -> Any:
        return self._model.model.generate(encoder_output, prompts, **options)

    def align(self, encoder_output: Any, *args: Any, **options: Any) -> Any:
        return self._model.model.align(encoder_output, *args, **options)

    def transcribe(self, audio: NDArray[np.float32], **options: Any) -> str:
        """faster-whisper's own ``transcribe`` of a whole recording (its defaults
        otherwise: 30 s windows, the text before as prompt, temperature fallback)."""
        segments, _ = self._model.transcribe(audio, **options)
        return " ".join(s.text.strip() for s in segments).strip()


def select_rows(encoder_output: Any, idx: Sequence[int]) -> Any:
    """Rows ``idx`` of a CTranslate2 encoder output.

    A CUDA storage cannot be read as a NumPy array: it is copied to the CPU
    first (the model moves it back for the next call).
    """
    import ctranslate2

    if encoder_output.device != "cpu":
        encoder_output = encoder_output.to_device(ctranslate2.Device.cpu)
    arr = np.asarray(encoder_output)
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(arr[list(idx)]))


def suppressed_tokens(tokenizer: Any) -> list[int]:
    from faster_whisper.transcribe import get_suppressed_tokens

    return list(get_suppressed_tokens(tokenizer, [-1]))


def compression_ratio(text: str) -> float:
    from faster_whisper.transcribe import get_compression_ratio

    return float(get_compression_ratio(text))


def merge_punctuations(items: list[dict[str, Any]]) -> None:
    """Attach leading/trailing punctuation to their words (in place), as faster-whisper does."""
    from faster_whisper.transcribe import merge_punctuations as merge

    merge(items, _PREPEND, _APPEND)
