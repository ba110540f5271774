"""The listener-latency bench's analysis: timing marks, lining audio up, stage by stage."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from roomscribe import timing
from roomscribe.bench.listener import (
    PAUSE_S,
    STAGES,
    Heard,
    Track,
    align,
    covering_final,
    lktalk_events,
    stages_of,
)
from roomscribe.bench.reference import Reference, Utterance

TRACK = "TR_abc"


def test_marks_are_logged_only_when_on_and_read_back(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="roomscribe.timing"):
        assert not timing.enabled()
        with caplog.at_level(logging.DEBUG, logger="roomscribe.timing"):
            assert timing.enabled()
            timing.mark("send_start", segment=f"{TRACK}-s1.x-2", final=1, queued=0)
    line = f"2026-12-07 10:00:00,000 DEBUG roomscribe.timing: {caplog.records[0].getMessage()}"
    [mark] = timing.parse("other line\n" + line)
    assert mark.stage == "send_start"
    assert mark.fields == {"segment": f"{TRACK}-s1.x-2", "final": "1", "queued": "0"}
    assert abs(mark.t - caplog.records[0].created) < 0.01


def test_align_finds_where_the_file_starts_in_what_was_heard() -> None:
    rng = np.random.default_rng(1)
    sent = rng.uniform(0, 90, 3000)
    heard = np.concatenate([np.zeros(437), sent + rng.normal(0, 3, sent.size), np.zeros(50)])
    lag, r = align(sent, heard)
    assert lag == 437
    assert r > 0.9


def _track(first_packet: float = 1000.0, offset_s: float = 2.0) -> Track:
    # frames of 10 ms pushed in real time, 30 ms after the talker sent them
    pushed = np.arange(1, 3001) * 0.01
    arrived = first_packet + (pushed - offset_s) + 0.03
    ref = Reference("hello", (Utterance(1.0, 2.0, "hello"),))
    return Track("talker-a", TRACK, ref, first_packet, offset_s, 1.0, pushed, arrived)


def _heard(start: float, end: float, done: float, segment: str = "s1.x-1") -> Heard:
    return Heard(
        done - 0.01, done, "talker-a", TRACK, f"{TRACK}-{segment}", True, 0, start, end, "hello"
    )


def test_covering_final_reaches_furthest_into_the_utterance() -> None:
    u = Utterance(1.0, 2.0, "hello there")
    first = _heard(3.0, 3.5, 1003.0)
    second = _heard(3.5, 4.02, 1003.4, "s1.x-2")
    next_one = _heard(3.9, 5.0, 1005.0, "s1.x-3")  # starts after u's end minus the slack
    assert covering_final(u, [first, second, next_one], offset_s=2.0) is second
    assert covering_final(Utterance(9.0, 9.5, "no"), [first], offset_s=2.0) is None


def test_stages_add_up_to_the_latency_at_the_listener() -> None:
    track = _track()
    u = track.reference.utterances[0]
    final = _heard(3.0, 4.0, 1002.9)
    t_pause = 1000.0 + 2.0 + PAUSE_S + 0.03
    marks = [
        timing.Mark("decode", t_pause + 0.15, {"start": f"{t_pause - 0.2:.6f}", "finals": "0"}),
        timing.Mark("decode", t_pause + 0.6, {"start": f"{t_pause + 0.15:.6f}", "finals": "1"}),
        timing.Mark(
            "engine_out", t_pause + 0.61, {"segment": "s1.x-1", "final": "1", "revision": "0"}
        ),
        timing.Mark("loop_in", t_pause + 0.62, {"track": TRACK, "segment": "s1.x-1"}),
        timing.Mark(
            "send_start",
            t_pause + 0.63,
            {"segment": f"{TRACK}-s1.x-1", "final": "1", "revision": "0"},
        ),
    ]
    stages = stages_of(track, u, final, marks)
    assert stages.total == pytest.approx(0.9)
    assert sum(stages.stages[s] for s in STAGES if not s.startswith(" ")) == pytest.approx(0.9)
    assert stages.stages["talker -> agent audio"] == pytest.approx(0.03)
    assert stages.stages["  of it: model busy"] == pytest.approx(0.15)
    assert stages.stages["decode (final's call)"] == pytest.approx(0.45)


def test_lktalk_records_skip_its_log_lines(tmp_path: Path) -> None:
    records = tmp_path / "talker.jsonl"
    records.write_text(
        '2026/12/07 09:58:56 "level"=0 "msg"="attempting join plan"\n'
        '{"event":"joined","t":1.5,"identity":"talker-a"}\n'
        '{"event":"first_packet","t":2.0,"at":1.99,"track":"TR_x","packets":10}\n'
    )
    events = lktalk_events(records)
    assert events["first_packet"]["at"] == 1.99
    assert set(events) == {"joined", "first_packet"}
