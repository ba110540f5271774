"""``roomscribe transcribe`` and ``roomscribe bench`` end to end (tiny.en, real audio)."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import wave
from pathlib import Path

import jiwer
import numpy as np
import pytest

from tests.conftest import ROOT, read_wav

pytestmark = pytest.mark.model

SHORT_S = 18
"""Up to the pause after "To exit the menu...": every run below decodes it (30 s took
19-26 s a run)."""
MAX_WER = 0.06
"""Two words of the clip's 34; tiny.en measured 0 live and offline."""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "roomscribe.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def short_session(eval_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 18 s of allison-a (5 prompts) with its reference (utterances that fit)."""
    out = tmp_path_factory.mktemp("cli") / "short.wav"
    audio = read_wav(eval_dir / "allison-a.wav")[: SHORT_S * 16000]
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((audio * 32767).astype(np.int16).tobytes())
    ref = json.loads((eval_dir / "allison-a.json").read_text())
    ref["utterances"] = [u for u in ref["utterances"] if u["end"] <= SHORT_S]
    out.with_suffix(".json").write_text(json.dumps(ref))
    return out


def test_transcribe_prints_jsonl_events(short_session: Path) -> None:
    run = cli("transcribe", str(short_session), "--model", "tiny.en", "--format", "jsonl")
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert any(not e["final"] for e in events)
    finals = [e for e in events if e["final"]]
    assert len(finals) >= 5, finals
    assert {"emitted_at", "segment_id", "text", "final", "words"} <= set(finals[0])
    times = [e["emitted_at"] for e in events]
    assert times == sorted(times)
    assert "pound key" in " ".join(e["text"] for e in finals).lower()


def test_transcribe_refuses_garbage_with_a_clear_message(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF not really a wave file" * 10)
    run = cli("transcribe", str(junk), "--model", "tiny.en")
    assert run.returncode == 2
    assert "cannot decode audio" in run.stderr


def test_unknown_language_flag_is_refused_before_loading_a_model(short_session: Path) -> None:
    run = cli("transcribe", str(short_session), "--model", "tiny.en", "--language", "xx")
    assert run.returncode == 2
    assert "roomscribe: invalid setting --language='xx': unknown language 'xx'" in run.stderr
    assert "loaded Whisper" not in run.stderr


def test_bench_json_and_scorer_agree(short_session: Path, tmp_path: Path) -> None:
    events_dir = tmp_path / "events"
    run = cli(
        "bench",
        str(short_session),
        "--model",
        "tiny.en",
        "--json",
        "--events-dir",
        str(events_dir),
        "--plot",
        str(tmp_path / "lat.png"),
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    [stream] = report["streams"]
    print(f"\nbench on {SHORT_S} s: {stream}")
    assert {"final_p50", "final_p90", "first_shown_p50", "wer", "keeps_up"} <= set(stream)
    assert stream["wer"] <= MAX_WER
    assert stream["finalized"] >= stream["utterances"] - 1
    assert (tmp_path / "lat.png").stat().st_size > 1000
    assert report["peak_rss_mb"] > 0
    assert report["files"][0]["offline_wer"] is None  # not asked for
    # the report agrees with a plain reading of the same log that shares no code with
    # bench (no Whisper normalizer, no metrics module): words, and when each
    # utterance's last word was final
    [log] = events_dir.glob("*.jsonl")
    events = [json.loads(line) for line in log.read_text().splitlines()]
    finals = [e for e in events if e["final"] and not e["revision"]]
    said = json.loads(short_session.with_suffix(".json").read_text())["utterances"]
    heard = jiwer.wer(
        plain(" ".join(u["text"] for u in said)), plain(" ".join(f["text"] for f in finals))
    )
    assert abs(heard - stream["wer"]) <= 0.03, (heard, stream["wer"])
    reached = [
        min(
            (
                f["emitted_at"]
                for f in finals
                if f["end"] >= u["end"] - 0.5 and f["start"] < u["end"]
            ),
            default=None,
        )
        for u in said
    ]
    late = [t - u["end"] for t, u in zip(reached, said, strict=True) if t is not None]
    assert len(late) == stream["finalized"], (reached, stream)
    assert abs(statistics.median(late) - stream["final_p50"]) <= 0.15, (late, stream)


def plain(text: str) -> str:
    """Lower case, words only (digits kept as they are written)."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def test_bench_several_streams_share_one_model(short_session: Path) -> None:
    run = cli(
        "bench",
        str(short_session),
        "--model",
        "tiny.en",
        "--json",
        "--streams",
        "2",
        "--pace",
        "simulated",
        "--offline",
        "--stagger",
        "--plot",
        "",
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    print(f"\nbench, 2 streams on {SHORT_S} s: {report['streams']} {report['files']}")
    assert len(report["streams"]) == 2
    # the second stream plays from the middle: scored against the reference turned
    # round the same way (against the original order its WER would be about 50 %)
    assert report["staggered"] is True
    assert all(s["wer"] <= MAX_WER for s in report["streams"])
    # ... and its utterance times moved with it: each final matched to its utterance
    assert all(s["finalized"] >= s["utterances"] - 1 for s in report["streams"])
    # the same clip read offline, once per file: about as accurate
    [file] = report["files"]
    assert 0.0 <= file["offline_wer"] <= MAX_WER
    assert "plot" not in report  # --plot "": none (it once wrote ".png" in the working directory)
    assert not (ROOT / ".png").exists()
