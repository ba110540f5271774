"""The soak's bookkeeping (what each talker says, which final covers which utterance),
checked without a server: the soak runs themselves are ``make soak``'s."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.livekit.participants import Received
from tests.livekit.test_soak import Utterance, hear, script

LATENCY_S = 0.6


def test_a_script_started_half_way_begins_in_a_pause_and_keeps_every_utterance(
    eval_dir: Path,
) -> None:
    whole = script(eval_dir, "allison-a", half_way=False)
    rotated = script(eval_dir, "allison-a", half_way=True)

    assert len(rotated.audio) == len(whole.audio)
    assert sorted(u.text for u in rotated.utterances) == sorted(u.text for u in whole.utterances)
    middle = whole.utterances[len(whole.utterances) // 2]
    assert rotated.utterances[0].text == middle.text
    assert 0 < rotated.utterances[0].start < middle.start - whole.utterances[0].start + 2
    assert all(0 <= u.start < u.end <= rotated.seconds for u in rotated.utterances)
    starts = [u.start for u in rotated.utterances]
    assert starts == sorted(starts)


def test_spoken_counts_every_loop_up_to_the_end(eval_dir: Path) -> None:
    s = script(eval_dir, "allison-b", half_way=False)
    n = len(s.utterances)
    first = s.utterances[0]

    assert s.spoken(first.end - 0.01) == []
    twice = s.spoken(2 * s.seconds + first.end)
    assert len(twice) == 2 * n + 1
    assert twice[n].text == first.text
    assert twice[n].start == pytest.approx(first.start + s.seconds)
    assert all(u.end <= 2 * s.seconds + first.end for u in twice)


def final(u: Utterance, lead_s: float, segment: str) -> Received:
    """The final of ``u`` on a stream clock ``lead_s`` ahead of the talker's."""
    return Received(
        u.end + LATENCY_S, "talker-0", "TR", segment, True, u.text, u.start + lead_s, u.end + lead_s
    )


def test_finals_are_matched_on_a_drifting_stream_clock() -> None:
    """The agent's stream clock runs 0.3 s ahead and drifts 0.6 s per utterance
    (6.9 s by the twelfth, longer than an utterance plus the 1 s matching slack):
    the late finals are found only by following the drift."""
    utts = [Utterance(10.0 * i, 10.0 * i + 4.0, f"utterance {i}") for i in range(12)]
    finals = [final(u, 0.3 + 0.6 * i, f"s{i}") for i, u in enumerate(utts) if i != 7]

    heard = hear("talker-0", utts, finals, lead_s=0.3)

    assert [h.covered for h in heard] == [i != 7 for i in range(12)]
    for i, h in enumerate(heard):
        if i == 7:
            assert h.latency_s is None
            assert h.lead_s is None
        else:
            assert h.latency_s == pytest.approx(LATENCY_S)
            assert h.lead_s == pytest.approx(0.3 + 0.6 * i)


def test_an_utterance_without_a_final_at_its_end_has_no_latency() -> None:
    """A final that covers only the utterance's first half (the rest never came)
    counts as covered, but gives no latency."""
    u = Utterance(5.0, 9.0, "cut short")
    half = Received(9.5, "talker-0", "TR", "s0", True, "cut", 5.0, 6.5)

    [h] = hear("talker-0", [u], [half], lead_s=0.0)

    assert h.covered
    assert h.latency_s is None
