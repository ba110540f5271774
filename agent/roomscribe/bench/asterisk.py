"""Build evaluation sessions from Debian's Asterisk sound packs.

``asterisk-core-sounds-{en,fr,es,…}-g722`` hold real recorded prompts with
their text (``core-sounds-LANG.txt``); ``asterisk-moh-opsound-g722`` holds
music without speech. From them we build sessions like allison-a/b
(:mod:`roomscribe.bench.allison`; ``NAME.wav`` 16 kHz mono + ``NAME.json``
utterances with start/end/text) with other prompts than theirs, other
languages, music under speech, or after a low-bitrate Opus round trip, so
tests and benchmarks are not tuned to two files; and one session of the
prompts naming Asterisk's uncommon words (product names, acronyms), with
those words as its vocabulary, to measure what a room vocabulary buys.

    python -m roomscribe.bench.asterisk OUTDIR   # allison-a/b too
"""

from __future__ import annotations

import gzip
import json
import random
import re
import sys
import wave
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE
from roomscribe.audio.decode import decode_file

SOUNDS = Path("/usr/share/asterisk/sounds")
DOCS = Path("/usr/share/doc")
MOH = Path("/usr/share/asterisk/moh")

VOCABULARY = (
    "Asterisk",
    "Inter-Asterisk Exchange",
    "Digium",
    "PBX",
    "IAX",
    "IVR",
    "DAHDI",
    "MGCP",
    "SIP",
    "H.323",
    "Unistim",
    "Skinny",
    "Jingle",
    "Zap",
    "voicemail",
    "Linux",
)
"""Uncommon words of the English prompts: product and protocol names, acronyms."""


def prompts(lang: str) -> dict[str, str]:
    """Prompt name -> text, for prompts whose recording is installed."""
    index = DOCS / f"asterisk-core-sounds-{lang}" / f"core-sounds-{lang}.txt.gz"
    if not index.is_file():
        raise FileNotFoundError(
            f"{index} missing: apt-get install asterisk-core-sounds-{lang}-g722"
        )
    out: dict[str, str] = {}
    with gzip.open(index, "rt", encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
    for line in lines:
        name, sep, text = line.partition(":")
        text = text.strip()
        if not sep or line.startswith(";") or not text or any(c in text for c in "[]()<>*"):
            continue
        if (SOUNDS / lang / f"{name.strip()}.g722").is_file():
            out[name.strip()] = text
    return out


def build_session(
    lang: str,
    out: Path,
    *,
    count: int = 25,
    seed: int = 0,
    min_words: int = 4,
    exclude: frozenset[str] = frozenset(),
) -> Path:
    """Concatenate ``count`` random prompts with pauses into ``out`` (+ .json, .txt).

    ``exclude`` names prompts not to use (e.g. those of allison-a/b).
    """
    rng = random.Random(seed)
    table = {
        k: v for k, v in prompts(lang).items() if len(v.split()) >= min_words and k not in exclude
    }
    names = rng.sample(sorted(table), min(count, len(table)))
    clips = [(name, table[name], decode_file(SOUNDS / lang / f"{name}.g722")) for name in names]
    _concatenate(out, clips, rng, f"asterisk-core-sounds-{lang}-g722", lang)
    return out


def _concatenate(
    out: Path,
    clips: list[tuple[str, str, NDArray[np.float32]]],
    rng: random.Random,
    note: str,
    lang: str,
    vocabulary: tuple[str, ...] = (),
) -> None:
    """Prompts (name, text, audio) with random pauses between them, as one session."""
    parts: list[NDArray[np.float32]] = []
    utterances: list[dict[str, object]] = []
    t = 0.5
    parts.append(np.zeros(int(t * SAMPLE_RATE), dtype=np.float32))
    for name, text, audio in clips:
        utterances.append(
            {
                "start": round(t, 3),
                "end": round(t + len(audio) / SAMPLE_RATE, 3),
                "text": text,
                "prompt": name,
            }
        )
        pause = rng.uniform(0.4, 1.5)
        parts += [audio, np.zeros(int(pause * SAMPLE_RATE), dtype=np.float32)]
        t += len(audio) / SAMPLE_RATE + pause
    write_session(out, np.concatenate(parts), utterances, note, lang, vocabulary)


def build_vocabulary_session(
    out: Path,
    *,
    terms: tuple[str, ...] = VOCABULARY,
    speech_s: float = 160.0,
    seed: int = 0,
    exclude: frozenset[str] = frozenset(),
) -> Path:
    """English prompts that say ``terms``, ~``speech_s`` of them, into ``out``.

    Prompts are taken by how densely they hold the terms (occurrences per
    second; the channel-driver names are one-word prompts) while they fit in
    ``speech_s``, then put in a seeded random order. The terms are written
    beside the session, as ``NAME.vocabulary.txt`` (comma-separated, what
    ``--vocabulary`` takes) and under ``"vocabulary"`` in ``NAME.json``.
    """
    patterns = [re.compile(rf"(?<!\w){re.escape(t)}(?!\w)", re.IGNORECASE) for t in terms]
    audio: dict[str, NDArray[np.float32]] = {}
    density: dict[str, float] = {}
    table = prompts("en")
    for name, text in table.items():
        hits = sum(len(p.findall(text)) for p in patterns)
        if hits and name not in exclude:
            audio[name] = decode_file(SOUNDS / "en" / f"{name}.g722")
            density[name] = hits / (len(audio[name]) / SAMPLE_RATE)
    chosen: list[str] = []
    total = 0.0
    for name in sorted(density, key=lambda n: (-density[n], n)):
        seconds = len(audio[name]) / SAMPLE_RATE
        if total + seconds <= speech_s:
            chosen.append(name)
            total += seconds
    rng = random.Random(seed)
    rng.shuffle(chosen)
    _concatenate(
        out,
        [(name, table[name], audio[name]) for name in chosen],
        rng,
        "asterisk-core-sounds-en-g722, prompts naming the vocabulary terms",
        "en",
        terms,
    )
    return out


def music(seconds: float, *, track: str = "macroform-cold_day") -> NDArray[np.float32]:
    """Music with no speech (asterisk-moh-opsound-g722)."""
    audio = decode_file(MOH / f"{track}.g722")
    return audio[: int(seconds * SAMPLE_RATE)]


def mix_music(speech_wav: Path, out: Path, *, music_db: float = -12.0) -> Path:
    """The session in ``speech_wav`` with music playing under it."""
    speech = decode_file(speech_wav)
    bed = np.resize(music(len(speech) / SAMPLE_RATE + 1), len(speech))
    gain = 10 ** (music_db / 20) * _rms(speech) / max(_rms(bed), 1e-6)
    mixed = np.clip(speech + gain * bed, -1, 1).astype(np.float32)
    _copy_reference(speech_wav, out, mixed)
    return out


def opus_round_trip(speech_wav: Path, out: Path, *, bitrate: int = 12_000) -> Path:
    """The session after a low-bitrate Opus encode/decode (what WebRTC may deliver)."""
    import av

    speech = decode_file(speech_wav)
    tmp = out.with_suffix(".ogg")
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libopus", rate=48_000)
        stream.bit_rate = bitrate
        stream.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
        pcm = (speech * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for f in resampler.resample(frame):
            for packet in stream.encode(f):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    decoded = decode_file(tmp)[: len(speech)]
    tmp.unlink()
    _copy_reference(speech_wav, out, decoded)
    return out


def write_session(
    out: Path,
    audio: NDArray[np.float32] | NDArray[np.int16],
    utterances: list[dict[str, object]],
    note: str,
    language: str = "en",
    vocabulary: tuple[str, ...] = (),
) -> None:
    """``out`` (16-bit WAV) with ``NAME.json`` and ``NAME.txt`` beside it.

    ``audio``: float samples in [-1, 1], or 16-bit samples written as they are.

    ``vocabulary``: terms the session is meant to be run with, also written to
    ``NAME.vocabulary.txt``.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        pcm = audio if audio.dtype == np.int16 else (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        w.writeframes(pcm.tobytes())
    meta = {
        "audio": out.name,
        "sample_rate": SAMPLE_RATE,
        "duration_s": round(len(audio) / SAMPLE_RATE, 2),
        "note": note,
        "language": language,
        "utterances": utterances,
    }
    if vocabulary:
        meta["vocabulary"] = list(vocabulary)
        out.with_suffix(".vocabulary.txt").write_text(", ".join(vocabulary))
    out.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    out.with_suffix(".txt").write_text(" ".join(str(u["text"]) for u in utterances))


def _copy_reference(src: Path, out: Path, audio: NDArray[np.float32]) -> None:
    meta = json.loads(src.with_suffix(".json").read_text())
    write_session(out, audio, meta["utterances"], meta.get("note", ""), meta.get("language", "en"))


def _rms(x: NDArray[np.float32]) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


def used_prompts(eval_dir: Path) -> frozenset[str]:
    """Prompt names already used by the sessions in ``eval_dir``."""
    names: set[str] = set()
    for js in eval_dir.glob("*.json"):
        for u in json.loads(js.read_text()).get("utterances", []):
            if "prompt" in u:
                names.add(str(u["prompt"]))
    return frozenset(names)


def build_all(out: Path, exclude: frozenset[str] = frozenset()) -> list[Path]:
    """Every derived session: other English prompts, French, Spanish, music, Opus,
    vocabulary, and a two-talker conversation over the telephone band (with one
    track per talker beside it) and the same conversation wideband."""
    # imported here: conversation builds on this module's helpers
    from roomscribe.bench.conversation import build_conversation

    en = build_session("en", out / "asterisk-en.wav", seed=1, exclude=exclude)
    sessions = [
        en,
        build_session("fr", out / "asterisk-fr.wav", seed=1),
        build_session("es", out / "asterisk-es.wav", seed=1),
        mix_music(en, out / "asterisk-en-music.wav"),
        opus_round_trip(en, out / "asterisk-en-opus.wav"),
    ]
    write_session(out / "music.wav", music(60.0), [], "asterisk-moh-opsound-g722, no speech")
    vocabulary = build_vocabulary_session(out / "vocabulary-en.wav", exclude=exclude)
    conversation = [
        build_conversation(
            out / "conversation-g711.wav", seed=1, band="g711", tracks=True, exclude=exclude
        ),
        build_conversation(out / "conversation.wav", seed=1, band="wideband", exclude=exclude),
    ]
    return [*sessions, out / "music.wav", vocabulary, *conversation]


def main(argv: list[str]) -> int:
    # imported here: allison builds on this module's helpers
    from roomscribe.bench import allison

    out = Path(argv[0] if argv else "artifacts/eval")
    allison.build_all(out)
    build_all(out, allison.prompts())
    print(f"wrote evaluation sessions to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
