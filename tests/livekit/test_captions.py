"""Live captions end to end: real livekit-server, real ``roomscribe agent`` (tiny.en).

Two speakers replay the evaluation recordings at the same time in real time; a
third participant only listens to ``lk.transcription``. Also measures how long
after the end of each utterance its final caption arrives (printed and written
to ``artifacts/livekit-latency.json``; a measurement, not an assertion).
"""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from roomscribe import protocol
from roomscribe.bench.metrics import normalizer
from roomscribe.bench.metrics import wer as word_error_rate
from roomscribe.bench.metrics import words as normalized_words
from tests.conftest import read_wav
from tests.fixtures.livekit import (
    AgentWorker,
    LiveKitServer,
    running_agent,
    running_livekit_server,
)
from tests.livekit.participants import (
    SAMPLE_RATE,
    Listener,
    Received,
    Speaker,
    connect,
    poll_until,
    set_spoken_language,
)
from tests.livekit.worker_probe import metric

# serial: two speakers fill the session's worker; under a parallel run's load it
# reported itself full when the next room was created, and LiveKit dropped that dispatch
pytestmark = [pytest.mark.livekit, pytest.mark.serial]

MAX_SECONDS = 36.0
"""Each speaker's first prompts, up to here (allison-a 9, allison-b 7): enough
for the WER and attribution checks; every further second is a second of `make test`."""
FINALS_OBSERVED = "roomscribe_final_latency_seconds_count"
MAX_WER = 0.10
_normalize = normalizer("en")


def words(text: str) -> list[str]:
    """Whisper-normalized words, as the benchmark counts them."""
    return normalized_words(text, _normalize)


@dataclass(frozen=True, slots=True)
class Utterance:
    start: float
    end: float
    text: str


def load_reference(eval_dir: Path, name: str, max_s: float) -> tuple[list[Utterance], float]:
    """Utterances that end before ``max_s``, and where to cut the audio after them."""
    data = json.loads((eval_dir / f"{name}.json").read_text())
    all_utts = [Utterance(u["start"], u["end"], u["text"]) for u in data["utterances"]]
    utts = [u for u in all_utts if u.end <= max_s]
    following = all_utts[len(utts)] if len(utts) < len(all_utts) else None
    cut = utts[-1].end + 0.3
    if following is not None:
        cut = min(cut, following.start)
    return utts, cut


def transcript(finals: list[Received]) -> str:
    by_segment: dict[str, Received] = {}
    for c in finals:
        by_segment.setdefault(c.segment_id, c)
    return " ".join(c.text for c in sorted(by_segment.values(), key=lambda c: c.start))


def final_latencies(utts: list[Utterance], finals: list[Received]) -> list[float | None]:
    """Per utterance: seconds after its end until the first final holding its last word."""
    out: list[float | None] = []
    for u in utts:
        last = words(u.text)[-1]
        hits = [
            c.t - u.end
            for c in finals
            if c.start <= u.end and c.end >= u.end - 1.0 and last in words(c.text)
        ]
        out.append(min(hits) if hits else None)
    return out


def check_finals_never_change(captions: list[Received]) -> None:
    final_text: dict[str, str] = {}
    for c in captions:
        if c.revision:
            assert c.final, f"a revision that is not final: {c}"
            continue  # the revision pass replaces finals on purpose
        if c.segment_id in final_text:
            assert c.final, f"interim after final in segment {c.segment_id}: {c.text!r}"
            assert c.text == final_text[c.segment_id], f"final of {c.segment_id} changed"
        elif c.final:
            final_text[c.segment_id] = c.text


async def test_two_speakers_are_captioned_live(
    livekit_server: LiveKitServer,
    agent_worker: AgentWorker,
    eval_dir: Path,
    artifacts_dir: Path,
) -> None:
    room_name = "two-speakers"
    finals_before = metric(agent_worker, FINALS_OBSERVED) or 0.0
    listener = Listener(
        await connect(livekit_server, room_name, "listener", dispatch_agent=True, subscribe=False)
    )
    listener.start()
    await listener.wait_agent()

    names = {"alice": "allison-a", "bob": "allison-b"}
    speakers = {who: Speaker(await connect(livekit_server, room_name, who)) for who in names}
    refs: dict[str, list[Utterance]] = {}
    audio: dict[str, np.ndarray[Any, np.dtype[np.float32]]] = {}
    for who, name in names.items():
        refs[who], cut = load_reference(eval_dir, name, MAX_SECONDS)
        audio[who] = read_wav(eval_dir / f"{name}.wav")[: int(cut * SAMPLE_RATE)]
        await speakers[who].publish()
    await asyncio.gather(*(s.wait_subscribed() for s in speakers.values()))

    t0 = time.monotonic() + 0.2
    listener.t0 = t0
    await asyncio.gather(*(speakers[who].play(audio[who], t0) for who in names))
    await listener.wait_quiet(quiet_s=6.0, timeout_s=30.0)
    for s in speakers.values():
        await s.aclose()
    await listener.aclose()

    # Attribution: right speaker identity, right track.
    track_of = {who: s.track_sid for who, s in speakers.items()}
    assert listener.captions, agent_worker.log_text()[-3000:]
    for c in listener.captions:
        assert c.sender in track_of, f"caption from unexpected sender {c.sender!r}"
        assert c.track_id == track_of[c.sender]
        assert c.segment_id.startswith(track_of[c.sender])
    check_finals_never_change(listener.captions)
    assert listener.legacy_finals > 0  # legacy publish_transcription packets too
    # every final published is in the worker's latency histogram
    finals_seen = {c.segment_id for c in listener.captions if c.final}
    assert (metric(agent_worker, FINALS_OBSERVED) or 0.0) - finals_before >= len(finals_seen)

    report: dict[str, Any] = {}
    all_latencies: list[float] = []
    for who in names:
        finals = listener.finals(who)
        ref = " ".join(u.text for u in refs[who])
        hyp = transcript(finals)
        wer = word_error_rate(ref, hyp)
        lat = final_latencies(refs[who], finals)
        found = [x for x in lat if x is not None]
        all_latencies += found
        report[who] = {
            "wer": round(wer, 4),
            "utterances": len(refs[who]),
            "finals_matched": len(found),
            "latency_p50_s": round(statistics.median(found), 3) if found else None,
            "latency_p90_s": round(float(np.percentile(found, 90)), 3) if found else None,
            "hypothesis": hyp,
        }
        print(f"\n[livekit] {who}: WER {wer:.3f} ({len(refs[who])} utterances)")
        engine_errors = agent_worker.log_text().count("decode failed")
        assert wer <= MAX_WER, (
            f"{who}: WER {wer:.3f} ({engine_errors} failed decodes in the agent log)"
            f"\nref: {ref}\nhyp: {hyp}"
        )
    p50 = statistics.median(all_latencies)
    p90 = float(np.percentile(all_latencies, 90))
    report["utterance_final_latency_s"] = {
        "p50": round(p50, 3),
        "p90": round(p90, 3),
        "n": len(all_latencies),
    }
    print(f"[livekit] utterance-final latency p50 {p50:.2f} s, p90 {p90:.2f} s")
    (artifacts_dir / "livekit-latency.json").write_text(json.dumps(report, indent=1))


async def test_leaving_mid_sentence_finalizes_it(
    livekit_server: LiveKitServer, agent_worker: AgentWorker, eval_dir: Path
) -> None:
    room_name = "leaves-early"
    utts, _ = load_reference(eval_dir, "allison-a", MAX_SECONDS)
    second = utts[1]  # "After the tone say your busy message ..."
    leave_at = second.start + 1.0
    listener = Listener(
        await connect(livekit_server, room_name, "listener", dispatch_agent=True, subscribe=False)
    )
    listener.start()
    await listener.wait_agent()
    speaker = Speaker(await connect(livekit_server, room_name, "carol"))
    await speaker.publish()
    await speaker.wait_subscribed()

    audio = read_wav(eval_dir / "allison-a.wav")[: int(leave_at * SAMPLE_RATE)]
    t0 = time.monotonic() + 0.1
    listener.t0 = t0
    await speaker.play(audio, t0)
    await speaker.aclose()

    def cut_sentence_final() -> Received | None:
        for c in listener.finals("carol"):
            if c.end > second.start and "after" in words(c.text):
                return c
        return None

    await poll_until(lambda: cut_sentence_final() is not None, timeout_s=15)
    await listener.aclose()
    final = cut_sentence_final()
    assert final is not None, f"no final for the cut sentence: {listener.captions}"
    assert "decrease" in words(transcript(listener.finals("carol")))  # the sentence before


async def test_unpublished_tab_audio_is_finalized(
    livekit_server: LiveKitServer, agent_worker: AgentWorker, eval_dir: Path
) -> None:
    """Shared-tab audio is captioned; unpublishing it mid-sentence finalizes the sentence."""
    room_name = "tab-audio"
    utts, _ = load_reference(eval_dir, "allison-a", MAX_SECONDS)
    first = utts[0]  # "To decrease the audio volume from other participants..."
    stop_at = first.start + 2.5
    listener = Listener(
        await connect(livekit_server, room_name, "listener", dispatch_agent=True, subscribe=False)
    )
    listener.start()
    await listener.wait_agent()
    sharer = Speaker(await connect(livekit_server, room_name, "dave"))
    await set_spoken_language(livekit_server, room_name, "dave", "en")
    await sharer.publish(protocol.TAB_AUDIO_TRACK_NAME, rtc.TrackSource.SOURCE_SCREENSHARE_AUDIO)
    await sharer.wait_subscribed()

    audio = read_wav(eval_dir / "allison-a.wav")[: int(stop_at * SAMPLE_RATE)]
    t0 = time.monotonic() + 0.1
    listener.t0 = t0
    playing = asyncio.create_task(sharer.play(audio, t0))
    await poll_until(lambda: any(c.sender == "dave" for c in listener.captions), timeout_s=10)
    await set_spoken_language(livekit_server, room_name, "dave", "auto")
    await playing
    await asyncio.sleep(0.5)  # let the attribute change reach the agent first
    await sharer.unpublish()
    await poll_until(lambda: bool(listener.finals("dave")), timeout_s=15)
    await sharer.aclose()
    await listener.aclose()

    finals = listener.finals("dave")
    assert finals, f"no final after unpublishing: {listener.captions}"
    assert "decrease" in words(transcript(finals))
    assert {c.track_id for c in listener.captions} == {sharer.track_sid}
    # the spoken-language attribute is honoured at subscription and when it changes
    log = agent_worker.log_text()
    assert f"captioning dave/{sharer.track_sid} (language: en)" in log
    assert "dave now speaks auto" in log


async def test_stopping_the_worker_publishes_pending_captions(
    eval_dir: Path, tmp_path: Path
) -> None:
    """SIGTERM while someone speaks: the sentence in progress is finalized and published."""
    utts, _ = load_reference(eval_dir, "allison-a", MAX_SECONDS)
    second = utts[1]
    with (
        running_livekit_server(tmp_path) as server,
        running_agent(server, tmp_path / "agent.log") as worker,
    ):
        listener = Listener(
            await connect(server, "shutdown", "listener", dispatch_agent=True, subscribe=False)
        )
        listener.start()
        await listener.wait_agent()
        speaker = Speaker(await connect(server, "shutdown", "erin"))
        await speaker.publish()
        await speaker.wait_subscribed()

        audio = read_wav(eval_dir / "allison-a.wav")[: int((second.end + 5) * SAMPLE_RATE)]
        t0 = time.monotonic() + 0.1
        listener.t0 = t0
        playing = asyncio.create_task(speaker.play(audio, t0))
        await asyncio.sleep(second.start + 1.5 + 0.1)
        worker.process.send_signal(signal.SIGTERM)  # mid-sentence, audio still flowing

        def cut_sentence_final() -> bool:
            return any(c.end > second.start for c in listener.finals("erin"))

        await poll_until(cut_sentence_final, timeout_s=15)
        exit_code = await asyncio.to_thread(worker.process.wait, 30)
        playing.cancel()
        await speaker.aclose()
        await listener.aclose()

    assert cut_sentence_final(), f"{listener.captions}\n{worker.log_text()[-3000:]}"
    said = words(transcript(listener.finals("erin")))
    assert "after" in said
    assert "pound" not in said  # finalized at the signal, not at the end of the sentence
    assert "finalizing captions in 1 room" in worker.log_text()
    assert exit_code == 0, worker.log_text()[-3000:]
