"""Run the streaming core over reference recordings and measure it.

Two transcripts per stream: the live one (captions as they were first
finalized; its WER and latencies are what a listener sees live) and the one of
record (after the revision pass replaced finals, ``revised_wer``), with the
revision lag: seconds after a segment's speech ended until its revision was
published or it was confirmed unchanged. Given vocabulary terms, both
transcripts also get their term recall (:mod:`roomscribe.bench.terms`). Given
an offline reader, each file is also transcribed offline (the whole recording
at once, as offline Whisper reads it, after the timed runs) for the WER both
transcripts are measured against.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE, Backend
from roomscribe.asr.engine import EngineOptions
from roomscribe.asr.policy import PolicyOptions, StreamPolicy
from roomscribe.asr.scheduler import Scheduler, SchedulerOptions
from roomscribe.asr.vad import SileroModel
from roomscribe.audio.decode import decode_file
from roomscribe.bench.metrics import (
    RevisionEffects,
    StreamScore,
    final_transcript,
    percentile,
    revision_effects,
    score,
    wer,
)
from roomscribe.bench.reference import Reference, load_reference
from roomscribe.bench.terms import TermRecall, term_recall
from roomscribe.formats import caption_record
from roomscribe.replay import Emitted, Pace, Review, replay

OfflineReader = Callable[[NDArray[np.float32], str | None, tuple[str, ...]], str]
"""Transcribes a whole recording offline: audio, language, vocabulary -> text."""

KEEP_UP_LAG_S = 2.0
"""A stream keeps up when its final p90 and its drain after the audio end stay under this."""


@dataclass(frozen=True, slots=True)
class StreamResult:
    file: str
    stream: int
    score: StreamScore | None
    drain_s: float
    """Seconds after the audio ended until the stream's last live caption."""
    events: tuple[Emitted, ...] = field(repr=False)
    revision: RevisionScore | None = None
    terms: TermRecall | None = None
    """Term recall of the live transcript (given terms and a reference)."""
    revised_terms: TermRecall | None = None
    """Term recall of the transcript of record."""

    @property
    def keeps_up(self) -> bool:
        lag_ok = self.drain_s <= KEEP_UP_LAG_S
        if self.score is None or not self.score.final:
            return lag_ok
        return lag_ok and self.score.final_p90 <= KEEP_UP_LAG_S

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "stream": self.stream,
            "keeps_up": self.keeps_up,
            "drain_s": round(self.drain_s, 3),
        }
        if self.score is not None:
            s = self.score
            out.update(
                wer=round(s.wer, 4),
                first_shown_p50=_r(s.first_shown_p50),
                first_shown_p90=_r(s.first_shown_p90),
                final_p50=_r(s.final_p50),
                final_p90=_r(s.final_p90),
                final_by_time_p50=_r(s.final_by_time_p50),
                final_by_time_p90=_r(s.final_by_time_p90),
                utterances=s.utterances,
                shown=s.shown,
                finalized=s.finalized,
                hyp_words=s.hyp_words,
                ref_words=s.ref_words,
            )
        if self.revision is not None:
            out.update(self.revision.as_dict())
        for key, terms in (("term", self.terms), ("revised_term", self.revised_terms)):
            if terms is not None:
                out[f"{key}_recall"] = _r(terms.recall)
                out[f"{key}s_recalled"] = terms.recalled
                out[f"{key}s_said"] = terms.said
                out[f"{key}s_extra"] = terms.extra
                out[f"{key}s_missed"] = list(terms.missed)
        return out


@dataclass(frozen=True, slots=True)
class RevisionScore:
    """The transcript of record of one stream, after the revision pass."""

    wer: float | None
    """WER after revisions (``None`` without a reference)."""
    lags: tuple[float, ...]
    """Per reviewed segment: seconds after its speech ended until it was revised or confirmed."""
    revised: int
    """Segments whose text a revision changed."""
    confirmed: int
    dropped: int
    """Unrevised segments given up (the pass fell behind, or left over at close)."""
    unaligned: int = 0
    """Segment revisions the reviser dropped for crossing a segment boundary."""
    live_wer: float | None = None
    effects: RevisionEffects | None = None
    """What each revision did, judged from the caption log and the reference."""

    def as_dict(self) -> dict[str, Any]:
        effects: dict[str, Any] = {}
        if self.effects is not None:
            effects = {
                "revisions_improved": self.effects.improved,
                "revisions_worsened": self.effects.worsened,
                "revisions_neutral": self.effects.neutral,
                "revisions_duplicated_across_boundary": self.effects.duplicated,
            }
        gain = None
        if self.wer is not None and self.live_wer is not None:
            gain = round(self.wer - self.live_wer, 4)
        return {
            "revised_wer": None if self.wer is None else round(self.wer, 4),
            "revised_minus_live_wer": gain,
            **effects,
            "revisions_dropped_unaligned": self.unaligned,
            "revision_lag_p50": _r(percentile(self.lags, 0.5)),
            "revision_lag_p90": _r(percentile(self.lags, 0.9)),
            "segments_revised": self.revised,
            "segments_confirmed": self.confirmed,
            "segments_dropped": self.dropped,
        }


@dataclass(frozen=True, slots=True)
class FileRun:
    file: str
    audio_s: float
    compute_s: float
    wall_s: float
    decodes: int
    offline_wer: float | None = None
    """WER of the same audio read offline (see :data:`OfflineReader`), if asked for."""

    @property
    def rtf(self) -> float:
        """Compute time over audio time for all streams of this file together."""
        return self.compute_s / self.audio_s if self.audio_s else 0.0


@dataclass(frozen=True, slots=True)
class BenchReport:
    model: str
    pace: str
    streams_per_file: int
    runs: tuple[FileRun, ...]
    streams: tuple[StreamResult, ...]
    cpu_s: float
    peak_rss_mb: float
    overload: Overload = field(default_factory=lambda: Overload())
    staggered: bool = False
    """The streams played the file from different points (see :func:`run_bench`)."""

    @property
    def final_p90_max(self) -> float:
        """The worst stream's final p90."""
        return max((s.score.final_p90 for s in self.streams if s.score), default=float("nan"))

    @property
    def final_by_time_p90_max(self) -> float:
        return max(
            (s.score.final_by_time_p90 for s in self.streams if s.score), default=float("nan")
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "pace": self.pace,
            "streams_per_file": self.streams_per_file,
            "staggered": self.staggered,
            "cpu_s": round(self.cpu_s, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "final_p90_max": _r(self.final_p90_max),
            "final_by_time_p90_max": _r(self.final_by_time_p90_max),
            "load_max": round(self.overload.load_max, 2),
            "final_wait_max_s": round(self.overload.final_wait_max_s, 2),
            "overloaded_pct": round(100 * self.overload.overloaded_share, 1),
            "audio_cap_fired": self.overload.capped_segments,
            "audio_capped_s": round(self.overload.capped_s, 1),
            "files": [
                {
                    "file": r.file,
                    "audio_s": round(r.audio_s, 2),
                    "compute_s": round(r.compute_s, 2),
                    "wall_s": round(r.wall_s, 2),
                    "rtf": round(r.rtf, 3),
                    "decodes": r.decodes,
                    "offline_wer": None if r.offline_wer is None else round(r.offline_wer, 4),
                }
                for r in self.runs
            ],
            "streams": [s.as_dict() for s in self.streams],
            "all_keep_up": all(s.keeps_up for s in self.streams),
        }


@dataclass(slots=True)
class Overload:
    """What the live engine would have said about its load during the run.

    Sampled after every decode step that produced captions: the longest wait
    of a pending final (stream seconds) over the engine's ``overload_wait_s``.
    ``load_max`` >= 1.0 means :attr:`~roomscribe.asr.engine.Engine.load`
    reported full (no new rooms) at some point.
    """

    overload_wait_s: float = EngineOptions().overload_wait_s
    final_wait_max_s: float = 0.0
    samples: int = 0
    overloaded_samples: int = 0
    capped_segments: int = 0
    """Segments the audio cap finalized without a decode."""
    capped_s: float = 0.0

    @property
    def load_max(self) -> float:
        return self.final_wait_max_s / self.overload_wait_s

    @property
    def overloaded_share(self) -> float:
        """Share of samples at which the engine reported full because it lagged."""
        return self.overloaded_samples / self.samples if self.samples else 0.0

    def sample(self, scheduler: Scheduler) -> None:
        wait = scheduler.final_wait_s()
        self.samples += 1
        self.overloaded_samples += wait >= self.overload_wait_s
        self.final_wait_max_s = max(self.final_wait_max_s, wait)


def _r(x: float) -> float | None:
    return None if x != x else round(x, 3)


def run_bench(
    backend: Backend,
    files: Sequence[Path],
    *,
    streams: int = 1,
    pace: Pace = Pace.SIMULATED,
    policy: PolicyOptions | None = None,
    seconds: float | None = None,
    scheduler: SchedulerOptions | None = None,
    model: str = "",
    terms: Sequence[str] = (),
    offline: OfflineReader | None = None,
    stagger: bool = False,
) -> BenchReport:
    """Replay each file on ``streams`` concurrent streams sharing ``backend``.

    ``terms``: vocabulary words whose recall to measure (see :mod:`roomscribe.bench.terms`);
    without them, the terms a recording's reference names (its ``"vocabulary"``).
    ``offline``: also read each file with it (after the runs, so neither their CPU
    time nor their peak memory counts it) and report its WER. With ``stagger``
    the streams play the file from different points (spread evenly, turned round
    in a pause), so their speakers do not all pause at the same moment.
    """
    vad = SileroModel()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    runs: list[FileRun] = []
    results: list[StreamResult] = []
    overload = Overload()
    references: list[tuple[NDArray[np.float32], Reference | None]] = []
    for path in files:
        audio = decode_file(path)
        ref = load_reference(path)
        if seconds is not None:
            # cut between utterances, so the reference covers exactly the audio
            cut = ref.fit(seconds) if ref is not None else seconds
            audio = audio[: int(cut * SAMPLE_RATE)]
            ref = ref.cut(cut) if ref is not None else None
        if offline is not None:  # read after the runs; otherwise let the audio go
            references.append((audio, ref))
        plays = [_play(audio, ref, i / streams if stagger else 0.0) for i in range(streams)]
        stream_refs = [r for _, r in plays]
        policies = [
            StreamPolicy(vad, policy or PolicyOptions(), stream_id=f"s{i}") for i in range(streams)
        ]
        per_stream: list[list[Emitted]] = [[] for _ in range(streams)]
        reviews: list[list[Review]] = [[] for _ in range(streams)]
        sched = Scheduler(backend, scheduler)
        t0 = time.perf_counter()
        stats = replay(
            sched,
            policies,
            [a for a, _ in plays],
            pace=pace,
            on_caption=_collector(per_stream, partial(overload.sample, sched)),
            on_review=partial(_collect_review, reviews),
        )
        overload.capped_segments += sum(p.capped_segments for p in policies)
        overload.capped_s += sum(p.capped_s for p in policies)
        runs.append(
            FileRun(
                path.name, stats.audio_s, stats.compute_s, time.perf_counter() - t0, stats.decodes
            )
        )
        for i, events in enumerate(per_stream):
            sref = stream_refs[i]
            live = [e for e in events if not e.caption.revision]
            last = max((e.emitted_at for e in live), default=stats.audio_s)
            sc = score(live, sref, sref.language) if sref is not None else None
            ref_text = _reference_text(sref) if sref else ""
            terms_live = terms_revised = None
            measured = tuple(terms) or (sref.vocabulary if sref else ())
            if sref is not None and sc is not None and measured:
                terms_live = term_recall(ref_text, sc.transcript, measured, sref.language)
            reviser = policies[i].reviser
            revision = None
            if reviser is not None:
                revised_wer = None
                effects = None
                if sref is not None:
                    of_record = final_transcript(events)
                    revised_wer = wer(ref_text, of_record, sref.language)
                    effects = revision_effects(events, ref_text, sref.language)
                    if measured:
                        terms_revised = term_recall(ref_text, of_record, measured, sref.language)
                revision = RevisionScore(
                    revised_wer,
                    tuple(r.at - r.reviewed.end for r in reviews[i]),
                    reviser.revised_segments,
                    reviser.confirmed_segments,
                    reviser.dropped_segments,
                    reviser.unaligned_revisions,
                    None if sc is None else sc.wer,
                    effects,
                )
            results.append(
                StreamResult(
                    path.name,
                    i,
                    sc,
                    max(0.0, last - stats.audio_s),
                    tuple(events),
                    revision,
                    terms_live,
                    terms_revised,
                )
            )
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    if offline is not None:
        opts = policy or PolicyOptions()
        runs = [
            replace(run, offline_wer=_offline_wer(offline, audio, ref, opts))
            for run, (audio, ref) in zip(runs, references, strict=True)
        ]
    return BenchReport(
        model=model,
        pace=pace.value,
        streams_per_file=streams,
        runs=tuple(runs),
        streams=tuple(results),
        cpu_s=cpu,
        peak_rss_mb=usage1.ru_maxrss / 1024,
        overload=overload,
        staggered=stagger and streams > 1,
    )


def _play(
    audio: NDArray[np.float32], ref: Reference | None, share: float
) -> tuple[NDArray[np.float32], Reference | None]:
    """The recording played from ``share`` of its length (moved to the next pause)
    to its end, then from its start, with its reference to match."""
    duration = len(audio) / SAMPLE_RATE
    if share <= 0:
        return audio, ref
    at = ref.pause_after(share * duration) if ref is not None else share * duration
    n = int(at * SAMPLE_RATE)
    turned = np.concatenate([audio[n:], audio[:n]])
    return turned, None if ref is None else ref.rotate(n / SAMPLE_RATE, duration)


def _offline_wer(
    offline: OfflineReader,
    audio: NDArray[np.float32],
    ref: Reference | None,
    policy: PolicyOptions,
) -> float | None:
    """The offline reading's WER, with the language and vocabulary the streams had."""
    if ref is None:
        return None
    language = policy.language or ref.language
    return wer(_reference_text(ref), offline(audio, language, policy.vocabulary), language)


def _reference_text(ref: Reference) -> str:
    return " ".join(u.text for u in ref.utterances) or ref.text


def _collector(
    per_stream: list[list[Emitted]], on_step: Callable[[], None]
) -> Callable[[Emitted], None]:
    last: list[float] = [-1.0]

    def collect(e: Emitted) -> None:
        per_stream[e.stream].append(e)
        if e.emitted_at != last[0]:  # once per decode step, not per caption
            last[0] = e.emitted_at
            on_step()

    return collect


def _collect_review(reviews: list[list[Review]], review: Review) -> None:
    reviews[review.stream].append(review)


def write_events(report: BenchReport, directory: Path) -> list[Path]:
    """One JSONL caption log per stream (the input of ``captions_score.py``)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in report.streams:
        p = directory / f"{Path(s.file).stem}.s{s.stream}.jsonl"
        with p.open("w", encoding="utf-8") as f:
            for e in s.events:
                f.write(json.dumps(caption_record(e.caption, e.emitted_at)) + "\n")
        paths.append(p)
    return paths
