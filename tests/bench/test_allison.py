"""allison-a/b rebuilt from the Debian pack: the recordings every speech test reads."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from roomscribe.bench import allison


def test_sessions_are_rebuilt_sample_exact_with_speech_only_in_the_utterances(
    tmp_path: Path,
) -> None:
    for wav in allison.build_all(tmp_path):  # raises unless the SHA-256 matches
        with wave.open(str(wav)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16_000, 1, 2)
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        ref = json.loads(wav.with_suffix(".json").read_text())
        spans = [(round(u["start"] * 16_000), round(u["end"] * 16_000)) for u in ref["utterances"]]
        assert len(spans) >= 35
        speech = np.zeros(len(pcm), dtype=bool)
        for start, end in spans:
            assert np.abs(pcm[start:end]).max() > 3000  # a prompt is there
            speech[max(0, start - 40) : end + 40] = True
        assert not pcm[~speech].any()  # digital silence between the prompts
        text = wav.with_suffix(".txt").read_text()
        assert text == " ".join(u["text"] for u in ref["utterances"])


def test_a_different_pack_is_refused_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    recipe = json.loads((allison.RECIPES / "allison-a.json").read_text())
    recipe["sha256"] = "0" * 64
    (recipes / "allison-a.json").write_text(json.dumps(recipe))
    monkeypatch.setattr(allison, "RECIPES", recipes)
    with pytest.raises(RuntimeError, match="different"):
        allison.build("allison-a", tmp_path / "out")
    assert not (tmp_path / "out" / "allison-a.wav").exists()


def test_other_sessions_leave_these_prompts_out() -> None:
    used = allison.prompts()
    assert "vm-rec-busy" in used
    assert len(used) >= 70
