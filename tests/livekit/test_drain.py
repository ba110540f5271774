"""SIGTERM drains a worker: its rooms' open sentences are published, then another worker
carries on (real livekit-server, two real ``roomscribe agent --model tiny.en``)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.conftest import read_wav
from tests.fixtures.livekit import running_agents, running_livekit_server
from tests.livekit.participants import SAMPLE_RATE, poll_until
from tests.livekit.talking_room import talking_room
from tests.livekit.test_captions import load_reference, words

pytestmark = pytest.mark.livekit

ROOM = "drain"


async def test_sigterm_publishes_the_open_sentence_then_another_worker_takes_over(
    tmp_path: Path, eval_dir: Path, artifacts_dir: Path
) -> None:
    utts, _ = load_reference(eval_dir, "allison-a", 60)
    second = utts[1]  # "After the tone say your busy message ..."
    audio = read_wav(eval_dir / "allison-a.wav")[: int(45 * SAMPLE_RATE)]
    logs = [artifacts_dir / f"livekit-drain-worker-{i}.log" for i in range(2)]
    with (
        running_livekit_server(tmp_path) as server,
        running_agents(server, logs) as workers,
    ):
        async with talking_room(server, ROOM, audio) as scene:
            (draining,) = [w for w in workers if w.serves(ROOM)]
            (other,) = [w for w in workers if w is not draining]
            first_sid = scene.captioner_sid()
            await asyncio.sleep(second.start + 1.5 - scene.now())
            assert scene.now() < second.end - 1.0  # still mid-sentence
            signalled_at = scene.now()
            draining.process.send_signal(signal.SIGTERM)

            def cut_sentence_final() -> float | None:
                for c in scene.listener.finals("talker"):
                    if c.end > second.start and "after" in words(c.text):
                        return c.t
                return None

            await poll_until(lambda: cut_sentence_final() is not None, 20)
            exit_code = await asyncio.to_thread(draining.process.wait, 30)
            await poll_until(lambda: scene.joined_after(signalled_at, first_sid) is not None, 30)
            joined = scene.joined_after(signalled_at, first_sid)
            resumed = await scene.wait_captions_after(joined or 1e9, 20)

    logs_text = f"{draining.log_text()[-3000:]}\n\n{other.log_text()[-3000:]}"
    final_at = cut_sentence_final()
    assert final_at is not None, f"no final for the open sentence\n{logs_text}"
    assert exit_code == 0, logs_text
    assert "handed room drain over to another worker" in draining.log_text()
    assert joined is not None, f"no captioner took the room over\n{logs_text}"
    assert other.serves(ROOM)
    assert final_at < joined  # the open sentence came from the draining worker, before it left
    assert resumed is not None, f"no captions from the second worker\n{logs_text}"
    print(
        f"\n[drain] final of the open sentence {final_at - signalled_at:.1f} s after SIGTERM; "
        f"next captioner joined after {joined - signalled_at:.1f} s, "
        f"its first caption after {resumed.t - signalled_at:.1f} s"
    )
