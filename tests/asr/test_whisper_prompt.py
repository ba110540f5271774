"""What goes in the decoder prompt: vocabulary and context (no model loaded)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import tokenizers
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import WhisperModel

from roomscribe.asr.events import Word
from roomscribe.asr.models import resolve_model
from roomscribe.asr.prompts import PROMPT_CHARS, prompt_text
from roomscribe.asr.whisper import WhisperBackend, WhisperOptions

SOT_PREV, SOT, EN, TRANSCRIBE, NO_TIMESTAMPS = 1, 2, 3, 4, 5


class WordTokenizer:
    """One token per word (its index in a growing table), Whisper's special tokens."""

    sot_prev = SOT_PREV
    sot_sequence = (SOT, EN, TRANSCRIBE)
    no_timestamps = NO_TIMESTAMPS

    def __init__(self) -> None:
        self.table: list[str] = []

    def encode(self, text: str) -> list[int]:
        out = []
        for w in text.split():
            if w not in self.table:
                self.table.append(w)
            out.append(100 + self.table.index(w))
        return out

    def decode(self, tokens: list[int]) -> str:
        return " ".join(self.table[t - 100] for t in tokens if t >= 100)


def backend(prompt_tokens: int = 4) -> WhisperBackend:
    return WhisperBackend(cast(Any, None), WhisperOptions(prompt_tokens=prompt_tokens))


def test_terms_open_the_prompt_and_stay_when_the_context_is_cut() -> None:
    tok = WordTokenizer()
    prompt = backend(4)._prompt(tok, "one two three four five six", ("Asterisk", "IAX"))
    assert prompt[0] == SOT_PREV
    assert tok.decode(prompt) == "Asterisk, IAX three four five six"
    assert prompt[-4:] == [SOT, EN, TRANSCRIBE, NO_TIMESTAMPS]


def test_same_placement_as_faster_whispers_hotwords() -> None:
    tok = WordTokenizer()
    ours = backend(48)._prompt(tok, "Please press one.", ("Asterisk", "Digium"))
    previous = tok.encode(" Please press one.")
    theirs = WhisperModel.get_prompt(
        cast(Any, SimpleNamespace(max_length=448)),
        cast(Any, tok),
        previous,
        without_timestamps=True,
        hotwords="Asterisk, Digium",
    )
    assert ours == theirs


def test_terms_alone_without_context_and_nothing_without_either() -> None:
    tok = WordTokenizer()
    assert tok.decode(backend()._prompt(tok, "", ("PBX",))) == "PBX"
    assert backend()._prompt(tok, "", ()) == [SOT, EN, TRANSCRIBE, NO_TIMESTAMPS]


def test_a_long_form_prompt_is_offline_whispers_with_timestamps() -> None:
    """The revision pass reads a window as ``transcribe`` does: timestamp tokens
    predicted (without them Whisper tends to stop at a window's first long pause)."""
    tok = WordTokenizer()
    ours = backend(48)._prompt(tok, "Please press one.", (), long_form=True)
    theirs = WhisperModel.get_prompt(
        cast(Any, SimpleNamespace(max_length=448)),
        cast(Any, tok),
        tok.encode(" Please press one."),
        without_timestamps=False,
    )
    assert ours == theirs
    assert NO_TIMESTAMPS not in ours
    live = backend(48)._prompt(tok, "Please press one.", ())
    assert live[-1] == NO_TIMESTAMPS


def test_a_long_form_decode_hears_a_whole_30_s_window() -> None:
    """Offline Whisper pads every window to 30 s; live finals use shorter ones,
    and so do long-form decodes short enough for one (capped revisions)."""
    model = SimpleNamespace(features=lambda audio: np.zeros((80, len(audio) // 160), np.float32))
    wb = WhisperBackend(cast(Any, model), WhisperOptions())
    audio = np.zeros(18 * 16_000, np.float32)
    live, _ = wb._features([audio], final=True)
    long, frames = wb._features([audio], final=True, long_form=True)
    assert live.shape[-1] == 1900  # 18 s + 0.5 s, rounded up to a whole second
    assert long.shape[-1] == 3000
    assert frames == [1800]
    capped, _ = wb._features([audio[: 10 * 16_000]], final=True, long_form=True)
    assert capped.shape[-1] == 1500  # 15 s: FINAL_MIN_WINDOW_S


def test_a_final_pads_less_while_streams_share_the_model() -> None:
    """A final alone pads to 15 s; with 4 streams sharing the model, to what a
    batch of 4 would get (32 s / 4), whether or not their finals came together."""
    model = SimpleNamespace(features=lambda audio: np.zeros((80, len(audio) // 160), np.float32))
    wb = WhisperBackend(cast(Any, model), WhisperOptions())
    audio = np.zeros(3 * 16_000, np.float32)
    alone, _ = wb._features([audio], final=True)
    shared, _ = wb._features([audio], final=True, sharing=4)
    batch, _ = wb._features([audio] * 4, final=True)
    assert alone.shape[-1] == 1500
    assert shared.shape[-1] == batch.shape[-1] == 800
    interim, _ = wb._features([audio], final=False)
    assert interim.shape[-1] == 400  # interims are not padded for accuracy anyway


def test_streams_with_some_history_get_prompts_of_one_length(eval_dir: Path) -> None:
    """CTranslate2 batches only prompts of one length. The policy passes more
    history than the token budget, so once speakers have said a few sentences
    their prompts have one length whatever they said, and their decodes share
    one call (with 200 characters, 40-48 tokens, they rarely did)."""
    model_dir = Path(resolve_model("tiny.en"))
    hf = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok = Tokenizer(hf, False, task="transcribe", language="en")
    wb = WhisperBackend(cast(Any, None), WhisperOptions())
    lengths = set()
    for name in ("allison-a", "allison-b"):
        said = (eval_dir / f"{name}.txt").read_text().split()
        history = [Word(0.0, 0.0, " " + w, 0.9) for w in said]
        for end in range(60, len(history), 5):
            lengths.add(len(wb._prompt(tok, prompt_text(history[:end], PROMPT_CHARS))))
    budget = WhisperOptions().prompt_tokens
    assert lengths == {1 + budget + len(tok.sot_sequence) + 1}  # sot_prev ... no_timestamps
