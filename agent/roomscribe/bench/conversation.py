"""A conversation-like evaluation session built from Debian's Asterisk prompts.

Our other sessions are read prompts: one voice, one sentence, a clear pause,
the next sentence. Meetings and phone calls are not like that, and that is
where streaming transcription breaks: two talkers take fast turns, many turns
are one or two words ("Hello.", "No.", "Thank you."), one talker sometimes
says several sentences back to back so a voice-activity detector hears no real
pause for 5-12 s, turns overlap, and a telephone leg cuts everything above
4 kHz. This module lays real recordings out that way, with a reference that
says who said what when.

Debian ships one English voice (Allison Smith, ``asterisk-core-sounds-en``),
so **talker B is a transformed copy of the same voice**: Allison's recordings
played at 0.9x speed (lower and slower), not a second person. The session
tests turn-taking, short turns, run-ons, overlap and the telephone band; it
says nothing about how well two really different voices are told apart.

Prompts are trimmed to their speech (the recordings carry 0.05-0.3 s of
silence at each end) so the gaps written in the reference are the pauses a
listener hears: 0-0.3 s between turns, 0.05-0.25 s inside a run-on, and
0.1-0.4 s of overlap at about one turn change in ten.

Each talker is its own telephone leg: the band (G.711, G.722 or as recorded)
is applied to each talker's track, and the mix is their sum, like a call or
a conference bridge recording. So ``NAME-A.wav`` + ``NAME-B.wav`` is the mix
(up to clipping and 16-bit rounding) in every band.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE
from roomscribe.audio.decode import decode_file
from roomscribe.bench.asterisk import SOUNDS, prompts, write_session

if TYPE_CHECKING:
    import av

Band = Literal["g711", "g722", "wideband"]
"""How each talker's leg reaches the recorder: G.711 µ-law at 8 kHz (a plain
phone call, nothing above 4 kHz), a G.722 round trip (HD voice), or as recorded."""

BANDS: tuple[Band, ...] = get_args(Band)

Speaker = Literal["A", "B"]

LINE_NOISE_DBFS = -55.0
"""RMS of the noise floor a telephone leg adds (white before the codec)."""

TALKER_B_RATE = 0.9
"""Talker B is talker A played at this speed: lower and slower (pitch x0.9, length /0.9)."""

SHORT_PROMPTS = (
    "hello",
    "goodbye",
    "vm-goodbye",
    "auth-thankyou",
    "privacy-thankyou",
    "vm-no",
    "im-sorry",
    "sorry",
    "one-moment-please",
    "please-try-again",
    "vm-pls-try-again",
    "digits/today",
    "digits/tomorrow",
    "digits/yesterday",
    "digits/oh",
    "enabled",
    "disabled",
    "cancelled",
    "added",
    "removed",
    "extension",
    "number",
    "location",
    "time",
    "calling",
    "call-waiting",
    "do-not-disturb",
    "telephone-number",
    "vm-saved",
    "vm-received",
    "vm-deleted",
    "vm-nomore",
    *(f"digits/{d}" for d in range(10)),
    *(f"digits/day-{d}" for d in range(7)),
)
"""1-3 word prompts that sound like replies in a call (greetings, thanks, "no",
digits, days, one-word confirmations) rather than menu labels or letters. The
English pack has no "yes"; only those installed and indexed are used."""

SHORT_MAX_WORDS = 3
MEDIUM_WORDS = (4, 20)
RUN_ON_PROMPTS = (3, 5)
RUN_ON_SPAN_S = (5.0, 12.0)
RUN_ON_GAP_S = (0.05, 0.25)
TURN_GAP_S = (0.0, 0.3)
OVERLAP_S = (0.1, 0.4)
OVERLAP_SHARE = 0.10
SHORT_SHARE = 0.4
"""Short utterances are forced while fewer than this share of all so far, so the
session stays above 30 % short turns even with its run-ons of medium prompts."""
RECENT_SHORT = 5
"""A short prompt is not used again within this many short turns (two "Calling."
three turns apart sounds like a loop, not a call)."""
RUN_ON_EVERY_S = 30.0
"""One run-on per this much speech (at least one)."""
LEAD_S = 0.5
TRIM_DB = 50.0
TRIM_MARGIN_S = 0.03
NARROWBAND_RATE = 8_000
G722_DELAY = 22
"""Samples FFmpeg's G.722 encoder + decoder delay the signal by (their QMF
filters; measured by cross-correlation), taken off so the reference times hold."""
SHORT_SEED = 7


def build_conversation(
    out: Path,
    *,
    seed: int = 0,
    speech_s: float = 90.0,
    band: Band = "g711",
    tracks: bool = False,
    exclude: frozenset[str] = frozenset(),
) -> Path:
    """A two-talker conversation of ~``speech_s`` of speech into ``out`` (+ .json, .txt).

    The turns depend only on ``seed``, ``speech_s`` and ``exclude``, so the same
    arguments in another ``band`` give the same conversation through another
    channel. With ``tracks``, ``NAME-A.wav`` and ``NAME-B.wav`` (each talker's
    turns at the same times, silence elsewhere, with their own json/txt) are
    written beside it. ``exclude`` names prompts not to use.
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {BANDS}, not {band!r}")
    rng = random.Random(seed)
    table = prompts("en")
    voices = _Voices()
    turns = _plan(rng, table, voices, speech_s, exclude)
    legs, utterances = _lay_out(rng, turns, table, voices)
    coded = {spk: telephone(audio, band) for spk, audio in legs.items()}
    mix = np.clip(coded["A"] + coded["B"], -1, 1).astype(np.float32)
    note = _note(band)
    write_session(out, mix, utterances, note)
    if tracks:
        for spk, audio in coded.items():
            own = [u for u in utterances if u["speaker"] == spk]
            write_session(track_path(out, spk), audio, own, f"talker {spk} alone; {note}")
    return out


def short_conversation(out: Path) -> Path:
    """A ~25 s G.711 conversation (fixed seed, one run-on) for quick tests."""
    return build_conversation(out, seed=SHORT_SEED, speech_s=25.0, band="g711")


def track_path(out: Path, speaker: str) -> Path:
    """Where one talker's track of the session ``out`` is written (``NAME-A.wav``)."""
    return out.with_name(f"{out.stem}-{speaker}{out.suffix}")


def telephone(audio: NDArray[np.float32], band: Band) -> NDArray[np.float32]:
    """``audio`` (16 kHz) as it comes out of a ``band`` channel, same length and timing.

    G.711 goes through 8 kHz (PyAV's resampler low-passes at 4 kHz) and µ-law,
    and back to 16 kHz; G.722 is a 16 kHz ADPCM round trip. A phone leg is
    never digitally silent: both carry a line-noise floor of
    :data:`LINE_NOISE_DBFS` (seeded, so a session is rebuilt byte for byte).
    """
    if band == "wideband":
        return audio.astype(np.float32, copy=True)
    rng = np.random.default_rng(len(audio))
    noise = rng.standard_normal(len(audio)).astype(np.float32) * 10 ** (LINE_NOISE_DBFS / 20)
    audio = (audio + noise).astype(np.float32)
    if band == "g722":
        decoded = _codec_round_trip(audio, "g722", SAMPLE_RATE)[G722_DELAY:]
    elif band == "g711":
        narrow = _resample(audio, SAMPLE_RATE, NARROWBAND_RATE)
        mulaw = _codec_round_trip(narrow, "pcm_mulaw", NARROWBAND_RATE)
        decoded = _resample(mulaw, NARROWBAND_RATE, SAMPLE_RATE)
    else:
        raise ValueError(f"band must be one of {BANDS}, not {band!r}")
    fitted = np.zeros(len(audio), dtype=np.float32)
    n = min(len(audio), len(decoded))
    fitted[:n] = decoded[:n]
    return fitted


@dataclass(frozen=True, slots=True)
class Stats:
    """What a listener would notice in a session (see :func:`describe`)."""

    duration_s: float
    utterances: int
    turns: int
    """Runs of one talker's consecutive utterances."""
    short_share: float
    """Share of utterances of at most three words."""
    overlaps: int
    gaps: tuple[float, ...]
    """Start of each utterance minus the end of the one before (negative: overlap)."""
    longest_run_on_s: float
    """Longest stretch of one talker with no gap of 0.3 s or more (from the reference)."""
    longest_unpaused_s: float
    """Longest stretch of audio with no 0.3 s of silence in it: what a VAD hears."""


def describe(wav: Path) -> Stats:
    """Turn-taking statistics of the session ``wav``, from its reference and audio."""
    utts = json.loads(wav.with_suffix(".json").read_text())["utterances"]
    audio = decode_file(wav)
    gaps = tuple(round(b["start"] - a["end"], 3) for a, b in itertools.pairwise(utts))
    speakers = [u.get("speaker", "A") for u in utts]
    turns = 1 + sum(a != b for a, b in itertools.pairwise(speakers)) if utts else 0
    longest = 0.0
    first = 0
    for i in range(1, len(utts) + 1):
        if i == len(utts) or speakers[i] != speakers[i - 1] or gaps[i - 1] >= 0.3:
            longest = max(longest, utts[i - 1]["end"] - utts[first]["start"])
            first = i
    short = sum(len(str(u["text"]).split()) <= SHORT_MAX_WORDS for u in utts)
    return Stats(
        duration_s=round(len(audio) / SAMPLE_RATE, 2),
        utterances=len(utts),
        turns=turns,
        short_share=short / len(utts) if utts else 0.0,
        overlaps=sum(g < 0 for g in gaps),
        gaps=gaps,
        longest_run_on_s=round(longest, 2),
        longest_unpaused_s=round(_longest_unpaused(audio, 0.3), 2),
    )


@dataclass(frozen=True, slots=True)
class _Turn:
    speaker: Speaker
    prompts: tuple[str, ...]


class _Voices:
    """Trimmed recordings of each prompt in each talker's voice, decoded once per build."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, Speaker], NDArray[np.float32]] = {}

    def __call__(self, name: str, speaker: Speaker) -> NDArray[np.float32]:
        key = (name, speaker)
        if key not in self._cache:
            if speaker == "A":
                self._cache[key] = _trim(decode_file(SOUNDS / "en" / f"{name}.g722"))
            else:
                self._cache[key] = played_at(self(name, "A"), TALKER_B_RATE)
        return self._cache[key]

    def seconds(self, name: str, speaker: Speaker) -> float:
        return len(self(name, speaker)) / SAMPLE_RATE


def _plan(
    rng: random.Random,
    table: dict[str, str],
    voices: _Voices,
    speech_s: float,
    exclude: frozenset[str],
) -> list[_Turn]:
    """Turns alternating A, B, A, … until ``speech_s`` of speech: single short or
    medium prompts, and a run-on of 3-5 medium prompts about every 30 s."""
    short = [n for n in SHORT_PROMPTS if n in table and n not in exclude]
    short = [n for n in short if len(table[n].split()) <= SHORT_MAX_WORDS]
    lo, hi = MEDIUM_WORDS
    medium = sorted(
        n
        for n, text in table.items()
        if lo <= len(text.split()) <= hi and n not in exclude and "..." not in text
    )
    if not short or len(medium) < 2 * RUN_ON_PROMPTS[1]:
        raise ValueError("too few short or medium prompts left to build a conversation")
    unused = medium.copy()

    def take_medium() -> str:
        if not unused:
            unused.extend(medium)
        return unused.pop(rng.randrange(len(unused)))

    n_runs = max(1, round(speech_s / RUN_ON_EVERY_S))
    marks = sorted(speech_s * (i + rng.uniform(0.15, 0.75)) / n_runs for i in range(n_runs))
    turns: list[_Turn] = []
    speaker: Speaker = "A"
    total = 0.0
    n_short = n_utts = 0
    recent: list[str] = []
    while total < speech_s or marks:
        if marks and total >= marks[0]:
            marks.pop(0)
            enough = len(unused) >= 2 * RUN_ON_PROMPTS[1]
            names = _run_on(rng, speaker, unused if enough else medium, voices)
            for name in names:
                if name in unused:
                    unused.remove(name)
        elif n_short < SHORT_SHARE * (n_utts + 1) or rng.random() < 0.5:
            names = (rng.choice([n for n in short if n not in recent] or short),)
            recent = [*recent, names[0]][-RECENT_SHORT:]
            n_short += 1
        else:
            names = (take_medium(),)
        turns.append(_Turn(speaker, names))
        total += sum(voices.seconds(n, speaker) for n in names)
        n_utts += len(names)
        speaker = "B" if speaker == "A" else "A"
    return turns


def _run_on(
    rng: random.Random, speaker: Speaker, pool: list[str], voices: _Voices
) -> tuple[str, ...]:
    """3-5 medium prompts that, said back to back, take 5-12 s whatever the gaps."""
    lo, hi = RUN_ON_SPAN_S
    fallback: tuple[str, ...] = ()
    for _ in range(200):
        k = rng.randint(*RUN_ON_PROMPTS)
        names = tuple(rng.sample(pool, min(k, len(pool))))
        speech = sum(voices.seconds(n, speaker) for n in names)
        gaps = len(names) - 1
        if speech + gaps * RUN_ON_GAP_S[0] >= lo and speech + gaps * RUN_ON_GAP_S[1] <= hi:
            return names
        fallback = fallback or names
    return fallback


def _lay_out(
    rng: random.Random,
    turns: list[_Turn],
    table: dict[str, str],
    voices: _Voices,
) -> tuple[dict[Speaker, NDArray[np.float32]], list[dict[str, object]]]:
    """Each talker's track and the reference, placing turns with short gaps and
    overlapping about one turn change in ten (where both sides are ≥ 0.5 s, so an
    overlap never swallows a turn and the order by start stays the order spoken)."""
    changes = [
        i
        for i in range(1, len(turns))
        if voices.seconds(turns[i - 1].prompts[-1], turns[i - 1].speaker) >= 0.5
        and voices.seconds(turns[i].prompts[0], turns[i].speaker) >= 0.5
    ]
    count = min(len(changes), max(1, round(OVERLAP_SHARE * (len(turns) - 1))))
    overlapping = set(rng.sample(changes, count))
    placed: list[tuple[int, Speaker, str]] = []
    utterances: list[dict[str, object]] = []
    end = round(LEAD_S * SAMPLE_RATE)
    for i, turn in enumerate(turns):
        for j, name in enumerate(turn.prompts):
            if i == 0 and j == 0:
                gap = 0.0
            elif j > 0:
                gap = rng.uniform(*RUN_ON_GAP_S)
            elif i in overlapping:
                gap = -rng.uniform(*OVERLAP_S)
            else:
                gap = rng.uniform(*TURN_GAP_S)
            start = end + round(gap * SAMPLE_RATE)
            end = start + len(voices(name, turn.speaker))
            placed.append((start, turn.speaker, name))
            utterances.append(
                {
                    "start": round(start / SAMPLE_RATE, 3),
                    "end": round(end / SAMPLE_RATE, 3),
                    "text": table[name],
                    "prompt": name,
                    "speaker": turn.speaker,
                }
            )
    length = end + round(LEAD_S * SAMPLE_RATE)
    legs: dict[Speaker, NDArray[np.float32]] = {
        "A": np.zeros(length, dtype=np.float32),
        "B": np.zeros(length, dtype=np.float32),
    }
    for start, speaker, name in placed:
        clip = voices(name, speaker)
        legs[speaker][start : start + len(clip)] += clip
    return legs, utterances


def _note(band: Band) -> str:
    channel = {
        "g711": "each talker through G.711 µ-law at 8 kHz (telephone band, nothing above 4 kHz)",
        "g722": "each talker through a G.722 round trip (HD voice)",
        "wideband": "wideband, as recorded",
    }[band]
    return (
        "asterisk-core-sounds-en-g722, a conversation of two talkers with fast turns, "
        "short turns, run-ons and overlaps. Talker B is NOT a second person: it is a "
        f"transformed copy of the same voice (Allison Smith) played at {TALKER_B_RATE}x "
        f"speed, lower and slower. Band: {channel}."
    )


def _trim(audio: NDArray[np.float32]) -> NDArray[np.float32]:
    """``audio`` without the silence at its ends (10 ms frames more than 50 dB
    under the loudest), keeping 30 ms so no soft onset or fricative is cut."""
    frame = SAMPLE_RATE // 100
    n = len(audio) // frame
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    level = 20 * np.log10(rms + 1e-9)
    loud = np.flatnonzero(level > level.max() - TRIM_DB)
    margin = round(TRIM_MARGIN_S * SAMPLE_RATE)
    begin = max(0, int(loud[0]) * frame - margin)
    stop = min(len(audio), (int(loud[-1]) + 1) * frame + margin)
    return audio[begin:stop]


def played_at(audio: NDArray[np.float32], rate: float) -> NDArray[np.float32]:
    """``audio`` played at ``rate`` times its speed (< 1: lower and slower), by
    linear interpolation: a tape played slow, not a pitch-preserving stretch."""
    n = math.floor((len(audio) - 1) / rate) + 1
    at = np.arange(n, dtype=np.float64) * rate
    return np.interp(at, np.arange(len(audio)), audio).astype(np.float32)


def _resample(audio: NDArray[np.float32], rate_in: int, rate_out: int) -> NDArray[np.float32]:
    """``audio`` at ``rate_out`` through FFmpeg's resampler (band-limited, no delay)."""
    import av

    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate_out)
    frame = _frame(audio, rate_in)
    out = [*resampler.resample(frame), *resampler.resample(None)]
    return _concat(out)


def _codec_round_trip(
    audio: NDArray[np.float32], codec: Literal["g722", "pcm_mulaw"], rate: int
) -> NDArray[np.float32]:
    """``audio`` encoded with PyAV's ``codec`` and decoded again (no container)."""
    import av

    encoder = av.CodecContext.create(codec, "w")
    encoder.sample_rate = rate
    encoder.format = "s16"
    encoder.layout = "mono"
    decoder = av.CodecContext.create(codec, "r")
    decoder.sample_rate = rate
    decoder.layout = "mono"
    frame = _frame(audio, rate)
    frame.pts = 0
    out: list[av.AudioFrame] = []
    for packet in [*encoder.encode(frame), *encoder.encode(None)]:
        out += decoder.decode(packet)
    out += decoder.decode(None)
    return _concat(out)


def _frame(audio: NDArray[np.float32], rate: int) -> av.AudioFrame:
    import av

    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = rate
    return frame


def _concat(frames: list[av.AudioFrame]) -> NDArray[np.float32]:
    """Decoded s16 PyAV frames as one float32 array."""
    if not frames:
        return np.zeros(0, dtype=np.float32)
    pcm = np.concatenate([np.asarray(f.to_ndarray()).reshape(-1) for f in frames])
    return (pcm.astype(np.float32) / 32768.0).astype(np.float32)


def _longest_unpaused(audio: NDArray[np.float32], pause_s: float) -> float:
    """Longest stretch of ``audio`` with no ``pause_s`` of silence (10 ms frames
    40 dB under the loud ones) in it: how long a VAD waits for an endpoint."""
    frame = SAMPLE_RATE // 100
    n = len(audio) // frame
    if n == 0:
        return 0.0
    rms = np.sqrt(np.mean(audio[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    level = 20 * np.log10(rms + 1e-9)
    voiced = level > np.percentile(level, 99) - 40
    need = round(pause_s * 100)
    longest = run = silent = 0
    for v in voiced:
        if not v:
            silent += 1
            continue
        run = 1 if silent >= need else run + silent + 1
        silent = 0
        longest = max(longest, run)
    return longest / 100
