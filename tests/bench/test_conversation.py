"""The two-talker conversation session built from Debian's Asterisk prompts (needs the pack)."""

from __future__ import annotations

import itertools
import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from roomscribe.bench import asterisk, conversation

pytestmark = pytest.mark.skipif(
    not (asterisk.SOUNDS / "en").is_dir(), reason="asterisk-core-sounds-en-g722 not installed"
)

SLACK = 0.002
"""Times are written rounded to the millisecond."""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The short G.711 session, and the same conversation wideband and G.722, with tracks."""
    out = tmp_path_factory.mktemp("conversation")
    sessions = {"g711": conversation.short_conversation(out / "g711" / "conv.wav")}
    for band in ("wideband", "g722"):
        sessions[band] = conversation.build_conversation(
            out / band / "conv.wav",
            seed=conversation.SHORT_SEED,
            speech_s=25.0,
            band=band,
            tracks=True,
        )
    return sessions


def utterances(wav: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(wav.with_suffix(".json").read_text())["utterances"]
    return data


def samples(wav: Path) -> NDArray[np.float64]:
    with wave.open(str(wav)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16_000, 1, 2)
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return pcm.astype(np.float64) / 32767


def share_above(audio: NDArray[np.float64], hz: float) -> float:
    power = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / 16_000)
    return float(power[freqs > hz].sum() / power.sum())


def test_same_seed_same_bytes(tmp_path: Path, built: dict[str, Path]) -> None:
    again = conversation.short_conversation(tmp_path / "conv.wav")
    for suffix in (".wav", ".json", ".txt"):
        assert (
            again.with_suffix(suffix).read_bytes() == built["g711"].with_suffix(suffix).read_bytes()
        )
    other = conversation.build_conversation(tmp_path / "other.wav", seed=8, speech_s=25.0)
    assert [u["prompt"] for u in utterances(other)] != [u["prompt"] for u in utterances(again)]


def test_turns_are_fast_short_and_overlapping(built: dict[str, Path]) -> None:
    utts = utterances(built["g711"])
    assert {u["speaker"] for u in utts} == {"A", "B"}
    assert [u["start"] for u in utts] == sorted(u["start"] for u in utts)
    assert utts[0]["speaker"] == "A"
    assert 20 <= utts[-1]["end"] - utts[0]["start"] <= 35
    gaps = [b["start"] - a["end"] for a, b in itertools.pairwise(utts)]
    assert all(-0.4 - SLACK <= g <= 0.3 + SLACK for g in gaps), gaps
    # overlaps happen only where the talker changes, never inside one talker's track
    overlaps = [(a, b) for a, b in itertools.pairwise(utts) if b["start"] < a["end"]]
    assert overlaps
    assert all(a["speaker"] != b["speaker"] for a, b in overlaps)
    assert all(b["end"] > a["end"] for a, b in overlaps)
    short = [u for u in utts if len(u["text"].split()) <= 3]
    assert len(short) / len(utts) >= 0.3, [u["text"] for u in utts]


def run_ons(utts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """One talker's 3+ utterances in a row, checked to be a run-on: 3-5 medium
    prompts, 0.05-0.25 s apart, 5-12 s in all."""
    runs = [list(run) for _, run in itertools.groupby(utts, lambda u: u["speaker"])]
    found = [run for run in runs if len(run) >= 3]
    for run in found:
        assert len(run) <= 5
        assert all(len(u["text"].split()) >= 4 for u in run)
        inner = [b["start"] - a["end"] for a, b in itertools.pairwise(run)]
        assert all(0.05 - SLACK <= g <= 0.25 + SLACK for g in inner), inner
        assert 5 <= run[-1]["end"] - run[0]["start"] <= 12 + SLACK
    return found


def test_one_talker_runs_on_without_a_pause(built: dict[str, Path]) -> None:
    assert run_ons(utterances(built["g711"]))


def test_reference_is_the_packs_text(built: dict[str, Path]) -> None:
    table = asterisk.prompts("en")
    utts = utterances(built["g711"])
    assert all(u["text"] == table[u["prompt"]] for u in utts)
    assert built["g711"].with_suffix(".txt").read_text() == " ".join(u["text"] for u in utts)
    meta = json.loads(built["g711"].with_suffix(".json").read_text())
    assert "transformed copy of the same voice" in meta["note"]
    # every band says the same conversation at the same times
    for band in ("wideband", "g722"):
        assert utterances(built[band]) == utts


def test_g711_cuts_everything_above_4_khz(built: dict[str, Path]) -> None:
    # speech has little energy up there even wideband (~0.7 % here), so "< 1 %"
    # would not tell the bands apart: G.711 leaves ~0.003 %
    narrow = share_above(samples(built["g711"]), 4_000)
    wide = share_above(samples(built["wideband"]), 4_000)
    assert narrow < 0.001
    assert wide > 100 * narrow


def test_codecs_keep_the_timing(built: dict[str, Path]) -> None:
    wide = samples(built["wideband"])
    ref = wide[16_000:48_000]
    for band in ("g711", "g722"):
        coded = samples(built[band])
        assert len(coded) == len(wide)
        # the lag (in samples, within ±40) at which the coded mix best matches
        match = [float(coded[16_000 + lag : 48_000 + lag] @ ref) for lag in range(-40, 41)]
        assert int(np.argmax(match)) - 40 in (-1, 0, 1), band


@pytest.mark.parametrize(("band", "tolerance"), [("wideband", 2 / 32767), ("g722", 2 / 32767)])
def test_tracks_sum_to_the_mix(built: dict[str, Path], band: str, tolerance: float) -> None:
    mix = built[band]
    a = samples(conversation.track_path(mix, "A"))
    b = samples(conversation.track_path(mix, "B"))
    assert np.max(np.abs(np.clip(a + b, -1, 1) - samples(mix))) <= tolerance
    for speaker, track in (("A", a), ("B", b)):
        own = utterances(conversation.track_path(mix, speaker))
        assert own == [u for u in utterances(mix) if u["speaker"] == speaker]
        silent = np.ones(len(track), dtype=bool)
        for u in own:
            silent[int(u["start"] * 16_000) - 80 : int(u["end"] * 16_000) + 80] = False
        assert np.max(np.abs(track[silent])) < 0.01, speaker
        assert np.max(np.abs(track[~silent])) > 0.1, speaker


def test_full_session(tmp_path: Path) -> None:
    """The ~90 s session build_all writes: ~90 s of speech, several run-ons,
    overlaps, and still a third of short turns."""
    out = conversation.build_conversation(tmp_path / "c.wav", seed=1, band="wideband")
    utts = utterances(out)
    speech = sum(u["end"] - u["start"] for u in utts)
    assert 85 <= speech <= 100
    assert len(run_ons(utts)) >= 2
    gaps = [b["start"] - a["end"] for a, b in itertools.pairwise(utts)]
    assert all(-0.4 - SLACK <= g <= 0.3 + SLACK for g in gaps), gaps
    assert 2 <= sum(g < 0 for g in gaps) <= 0.2 * len(gaps)
    assert sum(len(u["text"].split()) <= 3 for u in utts) / len(utts) >= 0.3


def test_talker_b_is_lower_and_slower() -> None:
    t = np.arange(16_000) / 16_000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    slow = conversation.played_at(tone, conversation.TALKER_B_RATE)
    assert len(slow) == pytest.approx(16_000 / 0.9, abs=2)
    spectrum = np.abs(np.fft.rfft(slow))
    peak = np.fft.rfftfreq(len(slow), 1 / 16_000)[int(np.argmax(spectrum))]
    assert peak == pytest.approx(396, abs=2)


def test_exclude_and_band_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="band"):
        conversation.build_conversation(tmp_path / "x.wav", band="gsm")  # type: ignore[arg-type]
    excluded = frozenset({"hello", "goodbye", "vm-no"})
    out = conversation.build_conversation(
        tmp_path / "ex.wav", seed=3, speech_s=25.0, band="wideband", exclude=excluded
    )
    assert not excluded & {u["prompt"] for u in utterances(out)}


def test_describe_reads_the_turn_taking(built: dict[str, Path]) -> None:
    utts = utterances(built["g711"])
    stats = conversation.describe(built["g711"])
    assert stats.utterances == len(utts)
    assert stats.turns == len([k for k, _ in itertools.groupby(u["speaker"] for u in utts)])
    assert stats.overlaps >= 1
    assert stats.short_share >= 0.3
    assert 5 <= stats.longest_run_on_s <= stats.duration_s
    assert 1 <= stats.longest_unpaused_s <= stats.duration_s
    assert (
        stats.duration_s == json.loads(built["g711"].with_suffix(".json").read_text())["duration_s"]
    )
