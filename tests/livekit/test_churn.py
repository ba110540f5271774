"""Churn: speakers keep joining four rooms, talking, and leaving mid-sentence.

One real livekit-server, one real ``roomscribe agent --model tiny.en`` worker.
Each room has a listener for the whole run; speakers come one after another
(the next joins as the previous leaves), say one sentence from the evaluation
recordings, then leave in the middle of the next one. Every third speaker
mutes and unmutes between the sentences, every third unpublishes its
microphone and publishes a new one.

Asserted: the worker never crashes or logs an error, the sentence each speaker
was saying when they left is finalized and reaches the listener, the engine's
stream count is back to 0 at the end, and the worker's memory does not grow
(< 5 % between the first fifth of the cycles and the last; asserted in the
50-cycle run only, as 8 cycles are all warm-up). How long after leaving each
cut sentence's final arrived is measured, printed and written to
``artifacts/livekit-churn-<cycles>.json`` (the issue's target is 2 s; the bound
asserted is generous because the machine is shared).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import json
import re
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from tests.conftest import read_wav
from tests.fixtures.livekit import AgentWorker, LiveKitServer, running_agent
from tests.livekit.participants import (
    SAMPLE_RATE,
    Listener,
    Received,
    Speaker,
    connect,
    poll_until,
)
from tests.livekit.worker_probe import log_problems, open_pipelines, rss_bytes, streams_active

pytestmark = pytest.mark.livekit

ROOMS = 4
FINAL_TIMEOUT_S = 10.0
"""The bound asserted on "leave -> final of the cut sentence" (the target is 2 s)."""
RSS_GROWTH_MAX = 0.05
GAP_S = 1.0
"""Silence between the finished sentence and the cut one (the mute happens here)."""
PAD_S = 0.2


class Variant(enum.Enum):
    PLAIN = "plain"
    MUTE = "mute"
    """Mutes during the gap between the sentences, unmutes before the next."""
    REPUBLISH = "republish"
    """Unpublishes the microphone after the first sentence and publishes a new one."""


@dataclass(frozen=True, slots=True)
class Sentence:
    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class Cycle:
    """One speaker's visit: a full sentence, then a sentence cut ``cut_s`` after it started."""

    index: int
    room: str
    identity: str
    wav: str
    first: Sentence
    cut: Sentence
    cut_s: float
    variant: Variant


@dataclass(frozen=True, slots=True)
class Departure:
    """What the listener needs to recognize the cut sentence's final."""

    cycle: Cycle
    track_id: str
    cut_from: float
    """Stream time (on the last track) from which the cut sentence's final must reach:
    it covers speech of the last second before leaving."""
    left_at: float
    """Listener clock when the speaker left."""
    open_segments: frozenset[str]
    """Segments of the speaker with an interim but no final when they left."""
    queued_s: float
    """Audio captured but not yet sent when the speaker's last frame was captured."""


@dataclass(frozen=True, slots=True)
class Outcome:
    cycle: int
    room: str
    variant: str
    final_delay_s: float | None
    open_segments_finalized: bool
    left_at: float
    cut_from: float
    queued_s: float
    captions: list[str]
    """What the listener got from this speaker (and streams aborted), for the record."""


def sentences(eval_dir: Path, wav: str) -> list[Sentence]:
    data = json.loads((eval_dir / f"{wav}.json").read_text())
    return [Sentence(u["start"], u["end"], u["text"]) for u in data["utterances"]]


def _single_clause(s: Sentence) -> bool:
    # no pause inside ("Goodbye.  Thank you ...") that could end the utterance early
    return not re.search(r"[.?!,]\s+\S|\.\.\.", s.text)


def plan(eval_dir: Path, cycles: int) -> list[Cycle]:
    """Deterministic cycles spread over the rooms, sentences and variants."""
    firsts: list[tuple[str, Sentence]] = []
    cuts: list[tuple[str, Sentence]] = []
    for wav in ("allison-a", "allison-b"):
        for s in sentences(eval_dir, wav):
            if 1.2 <= s.end - s.start <= 4.0:
                firsts.append((wav, s))
            if s.end - s.start >= 3.2 and _single_clause(s):
                cuts.append((wav, s))
    variants = itertools.cycle(Variant)
    out = []
    for i in range(cycles):
        wav, first = firsts[(i * 7) % len(firsts)]
        cut_wav, cut = cuts[(i * 5) % len(cuts)]
        # the cut sentence comes from the same recording as the first
        same = [c for w, c in cuts if w == wav]
        cut = same[(i * 5) % len(same)] if cut_wav != wav else cut
        room = f"churn-{i % ROOMS}"
        out.append(
            Cycle(i, room, f"{room}-s{i}", wav, first, cut, 1.5 + (i % 3) * 0.5, next(variants))
        )
    return out


def clip(audio: NDArray[np.float32], start: float, end: float) -> NDArray[np.float32]:
    return audio[int(max(0.0, start) * SAMPLE_RATE) : int(end * SAMPLE_RATE)]


def silence(seconds: float) -> NDArray[np.float32]:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def _seconds(audio: NDArray[np.float32]) -> float:
    return len(audio) / SAMPLE_RATE


async def visit(
    server: LiveKitServer, listener: Listener, cycle: Cycle, audio: NDArray[np.float32]
) -> Departure:
    """Join, say one sentence, (mute | republish), leave ``cut_s`` into the next."""
    speaker = Speaker(await connect(server, cycle.room, cycle.identity))
    await speaker.publish()
    await speaker.wait_subscribed()
    first = clip(audio, cycle.first.start - PAD_S, cycle.first.end + PAD_S)
    cut = clip(audio, cycle.cut.start - PAD_S, cycle.cut.start + cycle.cut_s)

    # stream time counts the samples the track carried (the agent's clock for captions)
    await speaker.play(np.concatenate([first, silence(GAP_S / 2)]), time.monotonic() + 0.1)
    stream_s = _seconds(first) + GAP_S / 2
    if cycle.variant is Variant.MUTE:
        speaker.mute()
    elif cycle.variant is Variant.REPUBLISH:
        await speaker.republish()
        await speaker.wait_subscribed()
        stream_s = 0.0
    await speaker.play(silence(GAP_S / 2), time.monotonic() + 0.05)
    if cycle.variant is Variant.MUTE:
        speaker.mute(False)
    await speaker.play(cut, time.monotonic())
    leave_stream_s = stream_s + GAP_S / 2 + _seconds(cut)
    # Leave once the audio captured so far went out: play() catches up in a burst when
    # this (busy) process was late, and the source's queue would drop that audio unsent.
    queued_s = speaker.source.queued_duration
    with contextlib.suppress(TimeoutError):  # bounded: a source stuck in a dead room
        await asyncio.wait_for(speaker.source.wait_for_playout(), queued_s + 5.0)
    speaking = {c.segment_id for c in listener.captions if c.sender == cycle.identity}
    finalized = {c.segment_id for c in listener.finals(cycle.identity)}
    left_at = time.monotonic() - listener.t0
    await speaker.aclose()
    return Departure(
        cycle,
        speaker.track_sid,
        cut_from=leave_stream_s - 1.0,
        left_at=left_at,
        open_segments=frozenset(speaking - finalized),
        queued_s=queued_s,
    )


def cut_final(listener: Listener, d: Departure) -> Received | None:
    """The first final of the sentence the speaker was saying when they left."""
    for c in listener.finals(d.cycle.identity):
        if c.track_id == d.track_id and c.end >= d.cut_from:
            return c
    return None


async def await_final(listener: Listener, d: Departure) -> Outcome:
    def finalized() -> bool:
        done = {c.segment_id for c in listener.finals(d.cycle.identity)}
        return cut_final(listener, d) is not None and d.open_segments <= done

    await poll_until(finalized, FINAL_TIMEOUT_S + 5)
    final = cut_final(listener, d)
    done = {c.segment_id for c in listener.finals(d.cycle.identity)}
    return Outcome(
        d.cycle.index,
        d.cycle.room,
        d.cycle.variant.value,
        None if final is None else round(final.t - d.left_at, 3),
        d.open_segments <= done,
        round(d.left_at, 3),
        round(d.cut_from, 3),
        round(d.queued_s, 3),
        [
            f"{c.t:.2f} {'F' if c.final else 'I'} {c.track_id[-4:]} {c.segment_id[-6:]} "
            f"{c.start:.2f}-{c.end:.2f} {c.text}"
            for c in [*listener.captions, *listener.aborted]
            if c.sender == d.cycle.identity
        ],
    )


@dataclass
class Churn:
    """Runs the cycles of every room, one speaker at a time per room, rooms in parallel."""

    server: LiveKitServer
    worker: AgentWorker
    audio: dict[str, NDArray[np.float32]]
    rss_after: dict[int, int]
    """Worker RSS after the n-th departure (any room)."""
    departures: int = 0

    async def room(self, listener: Listener, cycles: list[Cycle]) -> list[Outcome]:
        waiting: list[asyncio.Task[Outcome]] = []
        for cycle in cycles:
            departure = await visit(self.server, listener, cycle, self.audio[cycle.wav])
            self.departures += 1
            self.rss_after[self.departures] = rss_bytes(self.worker)
            waiting.append(asyncio.create_task(await_final(listener, departure)))
        return list(await asyncio.gather(*waiting))


def _report(outcomes: list[Outcome], rss: dict[int, int], at: tuple[int, int]) -> dict[str, object]:
    delays = sorted(o.final_delay_s for o in outcomes if o.final_delay_s is not None)
    summary: dict[str, object] = {
        "cycles": len(outcomes),
        "finals": len(delays),
        "final_delay_after_leaving_s": {
            "p50": round(statistics.median(delays), 3) if delays else None,
            "p90": round(float(np.percentile(delays, 90)), 3) if delays else None,
            "max": max(delays) if delays else None,
            "within_2_s": sum(d <= 2.0 for d in delays),
        },
        "rss_mb": {str(n): round(rss[n] / 2**20, 1) for n in at},
        "rss_mb_by_departure": [round(rss[n] / 2**20, 1) for n in sorted(rss)],
        "outcomes": [asdict(o) for o in outcomes],
    }
    return summary


@pytest.mark.parametrize(
    ("cycles", "check_rss"),
    [
        # 8 cycles are all warm-up (the worker's RSS rises for ~20 departures, then
        # stays flat): measured and reported, not asserted
        pytest.param(8, False, id="8-cycles"),
        pytest.param(50, True, id="50-cycles", marks=pytest.mark.soak),
    ],
)
async def test_churn_across_four_rooms(
    own_livekit_server: LiveKitServer,
    eval_dir: Path,
    artifacts_dir: Path,
    cycles: int,
    check_rss: bool,
) -> None:
    livekit_server = own_livekit_server
    audio = {wav: read_wav(eval_dir / f"{wav}.wav") for wav in ("allison-a", "allison-b")}
    plans = plan(eval_dir, cycles)
    log_path = artifacts_dir / f"livekit-churn-agent-{cycles}.log"
    with running_agent(livekit_server, log_path) as worker:
        churn = Churn(livekit_server, worker, audio, rss_after={})
        listeners = []
        t0 = time.monotonic()
        for r in range(ROOMS):
            room = await connect(
                livekit_server, f"churn-{r}", "listener", dispatch_agent=True, subscribe=False
            )
            listener = Listener(room, t0=t0)
            listener.start()
            listeners.append(listener)
        await asyncio.gather(*(listener.wait_agent() for listener in listeners))

        per_room = await asyncio.gather(
            *(
                churn.room(listener, [c for c in plans if c.room == f"churn-{r}"])
                for r, listener in enumerate(listeners)
            )
        )
        outcomes = sorted((o for room in per_room for o in room), key=lambda o: o.cycle)
        # every speaker has left: every engine stream must be returned
        await poll_until(lambda: streams_active(worker).active == 0, 30)
        streams = streams_active(worker)
        unclosed = open_pipelines(worker.log_text())
        for listener in listeners:
            await listener.aclose()
        alive = worker.process.poll() is None
        log = worker.log_text()

    # RSS after the first fifth of the departures and after the last (the issue's
    # cycle 10 and cycle 50)
    first_at = max(4, cycles // 5)
    summary = _report(outcomes, churn.rss_after, (first_at, cycles))
    summary["streams_active_end"] = asdict(streams)
    (artifacts_dir / f"livekit-churn-{cycles}.json").write_text(json.dumps(summary, indent=1))
    delay = summary["final_delay_after_leaving_s"]
    print(f"\n[churn] {cycles} cycles: final after leaving {delay}")
    print(f"[churn] RSS MB {summary['rss_mb']}, streams at the end {streams}")

    assert alive, f"the worker died\n{log[-3000:]}"
    problems = log_problems(log)
    assert not problems, "\n".join(problems[:20])
    missing = [o for o in outcomes if o.final_delay_s is None or not o.open_segments_finalized]
    assert not missing, f"cut sentences without a final: {missing}\n{log[-3000:]}"
    late = [
        o for o in outcomes if o.final_delay_s is not None and o.final_delay_s > FINAL_TIMEOUT_S
    ]
    assert not late, f"finals later than {FINAL_TIMEOUT_S} s after leaving: {late}"
    assert streams.active == 0, f"{streams}; pipelines never stopped: {unclosed}"
    assert not unclosed, unclosed
    rss_first, rss_last = churn.rss_after[first_at], churn.rss_after[cycles]
    growth = (rss_last - rss_first) / rss_first
    assert not check_rss or growth < RSS_GROWTH_MAX, (
        f"RSS grew {growth:.1%} from departure {first_at} to {cycles}: "
        f"{summary['rss_mb_by_departure']}"
    )
