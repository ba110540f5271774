"""Whisper on CTranslate2 (faster-whisper's model, our own decoding loop).

Why not ``WhisperModel.transcribe``: it always pads audio to a 30 s window, so
every decode pays the full encoder cost (0.27 s for tiny.en, 0.55 s for base on
2 cores) however short the utterance. We encode only the utterance plus a
little padding (a 5 s window costs 5-10x less), decode several streams' requests
in one batched ``generate`` call, and align words with CTranslate2's
cross-attention alignment, all through faster-whisper's pieces behind one adapter
(:mod:`roomscribe.asr.fasterwhisper`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE, DecodeRequest, DecodeResult
from roomscribe.asr.events import Word
from roomscribe.asr.fasterwhisper import (
    WhisperModelAdapter,
    compression_ratio,
    merge_punctuations,
    pick_device,
    select_rows,
    suppressed_tokens,
)

__all__ = ["WhisperBackend", "WhisperOptions", "pick_device"]

_FRAMES_PER_S = 100
_LEFT_CONTEXT_SLACK_S = 0.6
_MAX_VOCABULARY_TOKENS = 120
"""Whisper's prompt holds at most 223 tokens; the rest is for the context."""
INTERIM_BEAM_SIZE = 1
"""Interim decodes are greedy: they are replaced within half a second."""
MIN_WINDOW_S = 4.0
"""Shortest encoder window of interim decodes; shorter audio is padded with silence."""
FINAL_MIN_WINDOW_S = 15.0
"""Shortest encoder window of final decodes: Whisper was trained on 30 s
windows, and a short utterance padded to 15 s is recognized clearly better
than in a tight 4 s window, at one encoder pass more per sentence."""
FINAL_WINDOW_BUDGET_S = 32.0
"""Encoder seconds a batch of final decodes may pad to: when many streams
finalize at once, or share the model (:attr:`DecodeRequest.sharing`), the
padding shrinks (down to :data:`MIN_WINDOW_S`) so latency holds under load."""
WINDOW_STEP_S = 1.0
"""Windows are rounded up to a multiple of this (padding of at least 0.5 s)."""
LONG_FORM_WINDOW_S = 30.0
"""Encoder window of long-form decodes longer than :data:`FINAL_MIN_WINDOW_S`
(offline Whisper pads every window to 30 s). Shorter ones (revision windows
capped while someone talks) are padded as finals: 30 s would double their
encoder time."""


@dataclass(frozen=True, slots=True)
class WhisperOptions:
    model: str = "base"
    device: str = "auto"
    """``auto``, ``cpu`` or ``cuda``."""
    compute_type: str = "auto"
    """``auto`` picks int8 on CPU and float16 on CUDA."""
    threads: int = 0
    """CPU threads for CTranslate2 (0: all cores)."""
    task: str = "transcribe"
    """``transcribe`` or ``translate`` (to English)."""
    beam_size: int = 5
    """Beam width of final decodes."""
    prompt_tokens: int = 48
    """Context tokens (previous text) given to the decoder; a fixed budget lets
    streams with history share one batched call."""


@dataclass(slots=True)
class EncodedBatch:
    """Requests of one decode group, encoded once, and what their decodes produce."""

    requests: Sequence[DecodeRequest]
    final: bool
    encoder_output: Any
    num_frames: list[int]
    """Feature frames of real audio per request (the rest is padding)."""
    languages: list[tuple[str, float]]
    """Language code and its probability per request (given, or detected)."""
    long_form: bool = False
    """The requests are long-form (a decode group never mixes them with others)."""
    task: str = "transcribe"
    """Whisper's task for the whole group: ``transcribe`` or ``translate``."""
    results: dict[int, DecodeResult] = field(default_factory=dict)

    def rows(self, idx: Sequence[int]) -> Any:
        """The encoder output of requests ``idx`` (all of it when that is every request)."""
        if len(idx) == len(self.requests):
            return self.encoder_output
        return select_rows(self.encoder_output, idx)


class WhisperBackend:
    """A :class:`roomscribe.asr.backend.Backend` on a faster-whisper model."""

    def __init__(self, model: WhisperModelAdapter, options: WhisperOptions) -> None:
        self._model = model
        self._opts = options
        self._tokenizers: dict[tuple[str | None, str], Any] = {}

    @classmethod
    def load(cls, options: WhisperOptions, cache_dir: Any = None) -> WhisperBackend:
        """Load the model named in ``options`` (see :mod:`roomscribe.asr.models`)."""
        from roomscribe.asr.models import resolve_model

        path = resolve_model(options.model, cache_dir)
        model = WhisperModelAdapter.load(
            path, options.device, options.compute_type, options.threads
        )
        return cls(model, options)

    @property
    def multilingual(self) -> bool:
        return self._model.multilingual

    @property
    def supported_languages(self) -> list[str]:
        """Language codes the loaded model can transcribe."""
        return self._model.supported_languages

    def transcribe_offline(
        self, audio: NDArray[np.float32], language: str | None, vocabulary: tuple[str, ...] = ()
    ) -> str:
        """The whole recording read by offline Whisper (faster-whisper's ``transcribe``,
        beam ``beam_size``): the accuracy the live and revised transcripts aim at."""
        return self._model.transcribe(
            audio,
            language=language if self.multilingual else None,
            task=self._opts.task if self.multilingual else "transcribe",
            beam_size=self._opts.beam_size,
            hotwords=" ".join(vocabulary) or None,
        )

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        results: list[DecodeResult | None] = [None] * len(requests)
        groups: dict[tuple[bool, bool, str | None, str], list[int]] = {}
        for i, req in enumerate(requests):
            lang = req.language if self.multilingual else "en"
            if req.translate and not self.multilingual:
                raise ValueError("an English-only model cannot translate")
            task = "translate" if req.translate else self._opts.task
            groups.setdefault((req.final, req.long_form, lang, task), []).append(i)
        for (final, _, lang, task), idx in groups.items():
            decoded = self._decode_group([requests[i] for i in idx], final, lang, task)
            for i, res in zip(idx, decoded, strict=True):
                results[i] = res
        return [r for r in results if r is not None]

    # -- internals -------------------------------------------------------------

    def _tokenizer(self, language: str | None, task: str) -> Any:
        tok = self._tokenizers.get((language, task))
        if tok is None:
            tok = self._model.tokenizer(
                task if self.multilingual else "transcribe",
                language or ("en" if not self.multilingual else None),
            )
            self._tokenizers[(language, task)] = tok
        return tok

    def _window_s(self, duration: float, shortest: float) -> float:
        step = WINDOW_STEP_S
        w = math.ceil((duration + 0.5) / step) * step
        return min(30.0, max(shortest, w))

    def _features(
        self,
        audios: Sequence[NDArray[np.float32]],
        final: bool,
        long_form: bool = False,
        sharing: int = 1,
    ) -> tuple[NDArray[np.float32], list[int]]:
        shortest = MIN_WINDOW_S
        longest = max(len(a) for a in audios) / SAMPLE_RATE
        if long_form and longest > FINAL_MIN_WINDOW_S:
            shortest = LONG_FORM_WINDOW_S
        elif final:
            budget = FINAL_WINDOW_BUDGET_S / max(len(audios), sharing)
            shortest = max(shortest, min(FINAL_MIN_WINDOW_S, budget))
        window = max(self._window_s(len(a) / SAMPLE_RATE, shortest) for a in audios)
        n = int(window * SAMPLE_RATE)
        frames = int(window * _FRAMES_PER_S)
        feats = []
        for a in audios:
            padded = np.zeros(n, dtype=np.float32)
            padded[: min(len(a), n)] = a[:n]
            feats.append(self._model.features(padded)[:, :frames])
        batch = np.ascontiguousarray(np.stack(feats), dtype=np.float32)
        num_frames = [min(frames, len(a) // 160) for a in audios]
        return batch, num_frames

    def _encode(
        self, requests: Sequence[DecodeRequest], final: bool, language: str | None
    ) -> EncodedBatch:
        long_form = any(r.long_form for r in requests)
        sharing = max(r.sharing for r in requests)
        features, num_frames = self._features(
            [r.audio for r in requests], final, long_form, sharing
        )
        encoder_output = self._model.encode(features)
        if language is None:
            languages = self._model.detect_language(encoder_output)
        else:
            languages = [(language, 1.0)] * len(requests)
        return EncodedBatch(requests, final, encoder_output, num_frames, languages, long_form)

    def _decode_group(
        self,
        requests: Sequence[DecodeRequest],
        final: bool,
        language: str | None,
        task: str,
    ) -> list[DecodeResult]:
        batch = self._encode(requests, final, language)
        batch.task = task
        # One generate call per detected language (usually a single call).
        by_lang: dict[str, list[int]] = {}
        for i, (code, _) in enumerate(batch.languages):
            by_lang.setdefault(code, []).append(i)
        for code, lang_idx in by_lang.items():
            tok = self._tokenizer(code, task)
            prompts = {
                i: self._prompt(
                    tok, requests[i].prompt, requests[i].vocabulary, requests[i].long_form
                )
                for i in lang_idx
            }
            # CTranslate2 needs <|startoftranscript|> at the same position in a
            # batch: one generate call per prompt length (contexts are cut to a
            # fixed token budget, so streams with history share one call).
            by_len: dict[int, list[int]] = {}
            for i in lang_idx:
                by_len.setdefault(len(prompts[i]), []).append(i)
            for idx in by_len.values():
                batch.results.update(self._generate(tok, batch, idx, [prompts[i] for i in idx]))
        if final:
            self._retry_without_context(batch)
            self._retry_without_left_audio(batch, language)
        return [batch.results[i] for i in range(len(requests))]

    def _retry_without_left_audio(self, batch: EncodedBatch, language: str | None) -> None:
        """Decode a request again without its context audio where that went wrong.

        Hearing the end of the previous sentence helps Whisper with the
        next one, but it sometimes stops after the part it had heard before
        or puts the new words' first times inside it; such a request is
        decoded once more from where its new audio starts.
        """
        requests = batch.requests
        suspects = [
            i
            for i, r in batch.results.items()
            if requests[i].context_s > 0 and _misses_new_audio(r, requests[i])
        ]
        if not suspects:
            return
        plain = [_without_left_audio(requests[i]) for i in suspects]
        redone = self._decode_group(plain, True, language, batch.task)
        for i, result in zip(suspects, redone, strict=True):
            shift = requests[i].context_s
            batch.results[i] = replace(
                result,
                words=tuple(
                    Word(w.start + shift, w.end + shift, w.text, w.probability)
                    for w in result.words
                ),
            )

    def _retry_without_context(self, batch: EncodedBatch) -> None:
        """Decode again without the previous text where the context derailed the decode.

        Conditioning on previous text helps on average but can make Whisper
        continue the context instead of hearing the audio (a menu of numbers
        turns the next sentence into more numbers). A final decode that looks
        derailed (unsure, repetitive, or far too few words for its audio) is
        redone without context and the more confident result is kept.
        """
        requests = batch.requests
        suspects = [
            i for i, r in batch.results.items() if requests[i].prompt and _derailed(r, requests[i])
        ]
        by_lang: dict[str, list[int]] = {}
        for i in suspects:
            by_lang.setdefault(batch.languages[i][0], []).append(i)
        for code, idx in by_lang.items():
            tok = self._tokenizer(code, batch.task)
            prompts = [
                self._prompt(tok, "", requests[i].vocabulary, requests[i].long_form) for i in idx
            ]
            retry = self._generate(tok, batch, idx, prompts)
            for i in idx:
                if retry[i].avg_logprob > batch.results[i].avg_logprob:
                    batch.results[i] = retry[i]

    def _generate(
        self, tok: Any, batch: EncodedBatch, idx: list[int], prompts: list[list[int]]
    ) -> dict[int, DecodeResult]:
        """Decode requests ``idx`` of ``batch`` (all of one language) with these prompts."""
        requests = batch.requests
        encoder_output = batch.rows(idx)
        audio_s = max(len(requests[i].audio) for i in idx) / SAMPLE_RATE
        # ~4 words/s is fast speech; a budget this tight stops runaway loops early
        max_new = int(7 * audio_s) + 8
        if batch.long_form:
            max_new += int(audio_s) + 4  # a pair of timestamp tokens per ~2 s sentence
        max_length = min(448, len(prompts[0]) + max_new)
        beam = self._opts.beam_size if batch.final else INTERIM_BEAM_SIZE
        gen = self._model.generate(
            encoder_output,
            prompts,
            beam_size=beam,
            max_length=max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=suppressed_tokens(tok),
        )
        token_lists = [[t for t in g.sequences_ids[0] if t < tok.eot] for g in gen]
        words = self._align(tok, encoder_output, token_lists, [batch.num_frames[i] for i in idx])
        out: dict[int, DecodeResult] = {}
        for j, i in enumerate(idx):
            tokens = gen[j].sequences_ids[0]
            seq_len = len(tokens)
            avg_logprob = gen[j].scores[0] * seq_len / (seq_len + 1) if seq_len else -10.0
            text = tok.decode(tokens).strip()
            duration = len(requests[i].audio) / SAMPLE_RATE
            out[i] = DecodeResult(
                words=tuple(
                    Word(w.start, min(w.end, duration), w.text, w.probability) for w in words[j]
                ),
                language=batch.languages[i][0],
                language_probability=batch.languages[i][1],
                no_speech_prob=float(gen[j].no_speech_prob),
                avg_logprob=float(avg_logprob),
                compression_ratio=compression_ratio(text) if text else 0.0,
            )
        return out

    def _prompt(
        self, tok: Any, context: str, vocabulary: tuple[str, ...] = (), long_form: bool = False
    ) -> list[int]:
        """Decoder prompt: vocabulary terms, then the latest context, then the task tokens.

        The terms go first and are never cut (as faster-whisper's ``hotwords``),
        the context is cut to ``prompt_tokens`` from its end. Terms as text
        before the context, sharing its budget (faster-whisper's
        ``initial_prompt``), recalled fewer of them (docs/benchmarks.md, "Room vocabulary").
        """
        prompt: list[int] = []
        terms = tok.encode(" " + ", ".join(vocabulary)) if vocabulary else []
        prev = tok.encode(" " + context.strip()) if context else []
        if terms or prev:
            prompt = [
                tok.sot_prev,
                *terms[:_MAX_VOCABULARY_TOKENS],
                *prev[-self._opts.prompt_tokens :],
            ]
        if long_form:
            # timestamp tokens, as offline Whisper: without them it tends to end
            # the text at the first long pause of a window
            return [*prompt, *tok.sot_sequence]
        return [*prompt, *tok.sot_sequence, tok.no_timestamps]

    def _align(
        self,
        tok: Any,
        encoder_output: Any,
        token_lists: list[list[int]],
        num_frames: list[int],
    ) -> list[list[Word]]:
        out: list[list[Word]] = [[] for _ in token_lists]
        todo = [i for i, t in enumerate(token_lists) if t]
        if not todo:
            return out
        enc = encoder_output if len(todo) == len(token_lists) else select_rows(encoder_output, todo)
        aligned = self._model.align(
            enc,
            tok.sot_sequence,
            [token_lists[i] for i in todo],
            [max(1, num_frames[i]) for i in todo],
            median_filter_width=7,
        )
        for i, result in zip(todo, aligned, strict=True):
            words, word_tokens = tok.split_to_word_tokens(token_lists[i] + [tok.eot])
            if len(word_tokens) <= 1:
                continue
            bounds = np.pad(np.cumsum([len(t) for t in word_tokens[:-1]]), (1, 0))
            if result.alignments:
                text_idx = np.array([p[0] for p in result.alignments])
                time_idx = np.array([p[1] for p in result.alignments])
                jumps = np.pad(np.diff(text_idx), (1, 0), constant_values=1).astype(bool)
                jump_times = time_idx[jumps] / 50.0
            else:
                # no alignment path (seen on a window of a few frames): keep the words,
                # spread over the audio, rather than fail the decode and lose them
                jump_times = np.linspace(0.0, num_frames[i] / 100.0, int(bounds[-1]) + 1)
            if len(jump_times) < len(bounds):
                continue
            probs = result.text_token_probs
            if len(probs) < bounds[-1]:
                probs = np.full(int(bounds[-1]), 0.5)
            items = [
                {
                    "word": w,
                    "tokens": t,
                    "start": float(jump_times[bounds[k]]),
                    "end": float(jump_times[bounds[k + 1]]),
                    "probability": float(np.mean(probs[bounds[k] : bounds[k + 1]])),
                }
                for k, (w, t) in enumerate(zip(words[:-1], word_tokens[:-1], strict=True))
            ]
            merge_punctuations(items)
            out[i] = [
                Word(d["start"], d["end"], d["word"], d["probability"]) for d in items if d["word"]
            ]
        return out


def _misses_new_audio(result: DecodeResult, request: DecodeRequest) -> bool:
    """No words, or none near the start or the end, of the audio after the context."""
    new = [w for w in result.words if (w.start + w.end) / 2 >= request.context_s]
    if not new:
        return True
    duration = len(request.audio) / SAMPLE_RATE
    late_start = new[0].start - request.context_s > _LEFT_CONTEXT_SLACK_S
    early_end = duration - new[-1].end > 2 * _LEFT_CONTEXT_SLACK_S
    return late_start or early_end


def _without_left_audio(request: DecodeRequest) -> DecodeRequest:
    """The request with its context audio cut off; what was said there joins the prompt."""
    return replace(
        request,
        audio=request.audio[round(request.context_s * SAMPLE_RATE) :],
        prompt=f"{request.prompt} {request.context_text}".strip(),
        context_s=0.0,
        context_text="",
    )


def _derailed(result: DecodeResult, request: DecodeRequest) -> bool:
    seconds = len(request.audio) / SAMPLE_RATE
    too_few = seconds >= 2.0 and len(result.words) < 0.8 * (seconds - 0.7)
    return result.avg_logprob < -0.6 or result.compression_ratio > 2.4 or too_few
