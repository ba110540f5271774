"""The two read-prompt sessions the tests and benchmarks use, rebuilt from Debian.

``allison-a`` (3.1 min; pauses of 0.3-1.2 s and a few of 2.5-4 s) and
``allison-b`` (3.0 min; tighter pauses of 0.2-0.8 s) are prompts of
``asterisk-core-sounds-en-g722`` (recorded by Allison Smith, CC-BY-SA-3.0; text
from ``core-sounds-en.txt``) placed in silence. Each recipe in ``sessions/``
holds the reference (utterances with start, end, text and prompt) and the
sample each prompt starts at, so the WAV comes out sample-exact on any machine
with the package installed: no audio is committed, and nothing outside the
checkout is needed.

    python -m roomscribe.bench.allison OUTDIR
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from roomscribe.audio.decode import decode_file
from roomscribe.bench.asterisk import SOUNDS, write_session

NAMES = ("allison-a", "allison-b")
RECIPES = Path(__file__).resolve().parent / "sessions"


def build(name: str, out_dir: Path) -> Path:
    """Write ``NAME.wav`` (+ ``.json``, ``.txt``) into ``out_dir``; returns the WAV.

    Raises if the WAV differs from the recipe's SHA-256 (another pack version).
    """
    recipe = json.loads((RECIPES / f"{name}.json").read_text())
    pcm = np.zeros(int(recipe["samples"]), dtype=np.int16)
    utterances = []
    for u in recipe["utterances"]:
        prompt = SOUNDS / "en" / f"{u['prompt']}.g722"
        if not prompt.is_file():
            raise FileNotFoundError(
                f"{prompt} missing: apt-get install asterisk-core-sounds-en-g722"
            )
        clip = np.round(decode_file(prompt) * 32768).astype(np.int16)
        start = int(u["offset"])
        pcm[start : start + len(clip)] = clip
        utterances.append({k: v for k, v in u.items() if k != "offset"})
    out = out_dir / f"{name}.wav"
    write_session(out, pcm, utterances, str(recipe["note"]), str(recipe.get("language", "en")))
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    if digest != recipe["sha256"]:
        out.unlink()
        raise RuntimeError(
            f"{out.name} came out different from the recording the tests were written for "
            f"(SHA-256 {digest}); is asterisk-core-sounds-en-g722 another version?"
        )
    return out


def build_all(out_dir: Path) -> list[Path]:
    """Both sessions; a session already there (with its reference) is kept."""
    paths = []
    for name in NAMES:
        wav = out_dir / f"{name}.wav"
        there = wav.is_file() and wav.with_suffix(".json").is_file()
        paths.append(wav if there else build(name, out_dir))
    return paths


def prompts() -> frozenset[str]:
    """The prompts the two sessions use (other sessions leave them out)."""
    return frozenset(
        str(u["prompt"])
        for name in NAMES
        for u in json.loads((RECIPES / f"{name}.json").read_text())["utterances"]
    )


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "artifacts/eval")
    for wav in build_all(out):
        print(f"{wav}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
