"""``roomscribe bench FILE…``: WER, latency, capacity and resources of the core."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from roomscribe.commands.transcribe import vocabulary_argument

if TYPE_CHECKING:
    from roomscribe.settings import Settings

HELP = "Measure WER, caption latency, real-time factor and capacity on reference recordings."


def add_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    from roomscribe.replay import Pace
    from roomscribe.settings import add_settings

    parser.add_argument("files", nargs="+", type=Path, help="audio with NAME.json/NAME.txt beside")
    parser.add_argument(
        "--streams", type=int, default=1, help="concurrent streams per file on one shared model"
    )
    parser.add_argument(
        "--pace",
        choices=[p.value for p in Pace],
        help="default: simulated for one stream, realtime for several",
    )
    parser.add_argument(
        "--stagger",
        action="store_true",
        help="streams play the file from different points (spread evenly, turned round in a "
        "pause), so their speakers do not all pause at once",
    )
    parser.add_argument("--seconds", type=float, help="only the first SECONDS of each file")
    parser.add_argument(
        "--vocabulary",
        type=vocabulary_argument,
        default=(),
        help="comma-separated terms likely to be spoken, given to every decode",
    )
    parser.add_argument(
        "--no-revision",
        action="store_true",
        help="live captions only (no revision pass), to compare: --revisions off",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="also read each file offline (faster-whisper's transcribe, whole file, same beam, "
        "language and vocabulary) and report its WER, the accuracy to compare with",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--plot",
        type=_optional_path,
        default=Path("artifacts/bench-latency.png"),
        help='PNG of the latency distribution ("" for none)',
    )
    parser.add_argument(
        "--events-dir", type=Path, help="write each stream's caption log (JSONL) here"
    )
    add_settings(parser, defaults, "asr")
    parser.set_defaults(language="en")


def _optional_path(text: str) -> Path | None:
    return Path(text) if text else None


def run(args: argparse.Namespace, settings: Settings) -> int:
    from roomscribe.asr.models import ModelNotFoundError
    from roomscribe.asr.whisper import WhisperBackend
    from roomscribe.bench.plot import plot_latency
    from roomscribe.bench.runner import run_bench, write_events
    from roomscribe.replay import Pace

    if args.streams < 1:
        print("roomscribe: --streams must be at least 1", file=sys.stderr)
        return 2
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"roomscribe: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    asr = settings.asr()
    try:
        backend = WhisperBackend.load(asr.whisper, asr.cache_dir)
    except ModelNotFoundError as exc:
        print(f"roomscribe: {exc}", file=sys.stderr)
        return 2
    pace = (
        Pace(args.pace) if args.pace else (Pace.SIMULATED if args.streams == 1 else Pace.REALTIME)
    )
    if args.no_revision:
        asr = settings.with_flags({"revisions": "off"}).asr()
    engine = asr.engine
    report = run_bench(
        backend,
        args.files,
        streams=args.streams,
        pace=pace,
        policy=replace(engine.policy, vocabulary=args.vocabulary),
        scheduler=engine.scheduler,
        seconds=args.seconds,
        model=asr.whisper.model,
        terms=args.vocabulary,
        offline=backend.transcribe_offline if args.offline else None,
        stagger=args.stagger,
    )
    if args.events_dir:
        write_events(report, args.events_dir)
    plot = plot_latency(report, args.plot) if args.plot is not None else None
    data = report.as_dict()
    if plot is not None:
        data["plot"] = str(plot)
    if args.json:
        print(json.dumps(data))
    else:
        _print_table(data)
    return 0


def _fmt(x: object, pct: bool = False) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x * 100:.1f}%" if pct else f"{x:.2f}"
    return str(x)


def _print_table(data: dict[str, object]) -> None:
    print(
        f"model {data['model']}, pace {data['pace']}, {data['streams_per_file']} stream(s) per "
        f"file{' (staggered)' if data['staggered'] else ''}, CPU {data['cpu_s']} s, "
        f"peak RSS {data['peak_rss_mb']} MB"
    )
    print(
        f"worst stream final p90 {_fmt(data['final_p90_max'])} s (by time "
        f"{_fmt(data['final_by_time_p90_max'])} s), load max {data['load_max']} "
        f"(longest final wait {data['final_wait_max_s']} s; >= 1.0 means the worker reports "
        f"full, {data['overloaded_pct']}% of steps), audio cap fired "
        f"{data['audio_cap_fired']} time(s) ({data['audio_capped_s']} s of audio)"
    )
    cols = (
        "file",
        "stream",
        "wer",
        "first_shown_p50",
        "first_shown_p90",
        "final_p50",
        "final_p90",
        "final_by_time_p90",
        "revised_wer",
        "revision_lag_p50",
        "revision_lag_p90",
        "segments_revised",
        "finalized",
        "utterances",
        "drain_s",
        "keeps_up",
    )
    print(" | ".join(cols))
    for s in data["streams"]:  # type: ignore[attr-defined]
        print(" | ".join(_fmt(s.get(c), pct=c in ("wer", "revised_wer")) for c in cols))
    for s in data["streams"]:  # type: ignore[attr-defined]
        for key, label in (("term", "live"), ("revised_term", "revised")):
            if f"{key}s_said" in s:
                missed = ", ".join(s[f"{key}s_missed"]) or "none"
                print(
                    f"{s['file']} s{s['stream']} vocabulary terms {label}: "
                    f"{s[f'{key}s_recalled']}/{s[f'{key}s_said']} recalled "
                    f"({_fmt(s[f'{key}_recall'], pct=True)}), {s[f'{key}s_extra']} extra, "
                    f"missed: {missed}"
                )
    for f in data["files"]:  # type: ignore[attr-defined]
        offline = f["offline_wer"]
        print(
            f"{f['file']}: {f['audio_s']} s audio, compute {f['compute_s']} s, RTF {f['rtf']}"
            + ("" if offline is None else f", offline WER {_fmt(offline, pct=True)}")
        )
    if "plot" in data:
        print(f"latency plot: {data['plot']}")
