"""Measure captions in the listener's language (English translations of finals).

Replays each recording (``artifacts/eval/asterisk-fr.wav``, ``asterisk-es.wav``,
built by ``python -m roomscribe.bench.asterisk``) through the streaming core
twice on one model, at the decodes' wall-time pace (``--pace simulated``, as
``roomscribe bench``): without translations, then with a listener asking for
English. Prints, per file:

* translation WER and corpus BLEU against the English text of the same prompt
  ids (the English Asterisk pack has the same prompts;
  ``roomscribe.bench.asterisk.prompts``), the translations of an utterance being
  those of the finals it overlaps;
* how late each translation comes after its utterance ended (p50 / p90);
* the model's busy time (VAD + decodes) without and with translations;
* the original captions' final latency p50 / p90 without and with (target:
  p90 within ``KEEP_UP_LAG_S`` of ``roomscribe bench``).

    flock /tmp/cpu.lock env PYTHONPATH=$PWD/agent .venv/bin/python \\
        scripts/bench_translation.py artifacts/eval/asterisk-fr.wav [--seconds 120]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from roomscribe.asr.backend import SAMPLE_RATE
from roomscribe.asr.events import Caption
from roomscribe.asr.policy import PolicyOptions, StreamPolicy
from roomscribe.asr.scheduler import Scheduler
from roomscribe.asr.vad import SileroModel
from roomscribe.asr.whisper import WhisperBackend, WhisperOptions
from roomscribe.audio.decode import decode_file
from roomscribe.bench.asterisk import prompts
from roomscribe.bench.metrics import bleu, percentile, score, wer
from roomscribe.bench.reference import load_reference
from roomscribe.bench.runner import KEEP_UP_LAG_S
from roomscribe.replay import Emitted, Pace, replay


def run(
    backend: WhisperBackend, vad: SileroModel, path: Path, seconds: float | None, translate: bool
) -> dict[str, object]:
    ref = load_reference(path)
    assert ref is not None, f"{path} has no reference"
    audio = decode_file(path)
    if seconds is not None:
        cut = ref.fit(seconds)
        audio, ref = audio[: int(cut * SAMPLE_RATE)], ref.cut(cut)
    policy = StreamPolicy(vad, PolicyOptions(language=ref.language), stream_id="s0")
    if translate:
        policy.translations.set_target("en")
    events: list[Emitted] = []
    stats = replay(
        Scheduler(backend), [policy], [audio], pace=Pace.SIMULATED, on_caption=events.append
    )
    live = [e for e in events if not e.caption.revision and not e.caption.translation]
    sc = score(live, ref, ref.language)
    out: dict[str, object] = {
        "busy_s": round(stats.compute_s, 2),
        "audio_s": round(stats.audio_s, 1),
        "final_p50_s": round(sc.final_p50, 3),
        "final_p90_s": round(sc.final_p90, 3),
        "wer": round(sc.wer, 4),
    }
    if translate:
        out |= translation_scores(path, events, policy.translations.dropped)
    return out


def translation_scores(path: Path, events: list[Emitted], dropped: int) -> dict[str, object]:
    """Translation WER per prompt id against the English pack, and the translations' lag."""
    utterances = json.loads(path.with_suffix(".json").read_text())["utterances"]
    english = prompts("en")
    finals: dict[str, Caption] = {
        e.caption.segment_id: e.caption
        for e in events
        if e.caption.final and not e.caption.revision and not e.caption.translation
    }
    translated = [e for e in events if e.caption.translation]
    refs, hyps, lags = [], [], []
    for u in utterances:
        replayed = u["end"] <= max((c.end for c in finals.values()), default=0) + 1
        if not replayed or u["prompt"] not in english:
            continue  # past the replayed audio, or a prompt the English pack lacks
        mine = []
        for e in translated:
            original = finals.get(e.caption.segment_id)
            if original is not None and original.start < u["end"] and original.end > u["start"]:
                mine.append(e)
        refs.append(english[u["prompt"]])
        hyps.append(" ".join(e.caption.text for e in mine))
        if mine:
            lags.append(max(e.emitted_at for e in mine) - u["end"])
    return {
        "translation_wer": round(wer(" ".join(refs), " ".join(hyps), "en"), 4),
        "translation_bleu": round(bleu(refs, hyps, "en"), 1),
        "translated_utterances": f"{sum(1 for h in hyps if h)}/{len(hyps)}",
        "translations": len(translated),
        "translations_dropped": dropped,
        "translation_lag_p50_s": round(percentile(lags, 0.5), 2) if lags else None,
        "translation_lag_p90_s": round(percentile(lags, 0.9), 2) if lags else None,
        "examples": [{"ref": r, "hyp": h} for r, h in list(zip(refs, hyps, strict=True))[:3]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--model", default="base")
    parser.add_argument("--seconds", type=float, default=None, help="replay only the start")
    args = parser.parse_args()
    backend = WhisperBackend.load(WhisperOptions(model=args.model))
    vad = SileroModel()
    for path in args.files:
        without = run(backend, vad, path, args.seconds, translate=False)
        with_ = run(backend, vad, path, args.seconds, translate=True)
        extra = (with_["busy_s"] - without["busy_s"]) / without["busy_s"]  # type: ignore[operator]
        report = {
            "file": path.name,
            "model": args.model,
            "without": without,
            "with_english": with_,
            "extra_busy": f"{extra:+.0%}",
            "final_p90_target_s": KEEP_UP_LAG_S,
        }
        print(json.dumps(report, indent=1, ensure_ascii=False), flush=True)
        print(
            f"{path.stem}: translation WER {with_['translation_wer']:.1%}, "
            f"BLEU {with_['translation_bleu']}, "
            f"lag p50/p90 {with_['translation_lag_p50_s']}/{with_['translation_lag_p90_s']} s; "
            f"busy {without['busy_s']} -> {with_['busy_s']} s ({extra:+.0%}); "
            f"original final p50/p90 {without['final_p50_s']}/{without['final_p90_s']} s "
            f"-> {with_['final_p50_s']}/{with_['final_p90_s']} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
