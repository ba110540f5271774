"""A room whose captioner died gets a new one without anyone joining.

Real livekit-server, two real ``roomscribe agent --model tiny.en`` workers, a
speaker replaying allison-a and a caption listener. The worker captioning the
room is killed with SIGKILL (as a crash or an OOM kill would); the other
worker's healer must notice the missing captioner and re-dispatch the room, and
captions must resume at the listener. The time from the kill to the first
caption after it is the heal time: printed and written to
``artifacts/livekit-heal.json`` (a measurement, not an assertion).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import urllib.request
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from livekit import api
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import read_wav
from tests.fixtures.livekit import (
    AgentWorker,
    running_agent,
    running_agents,
    running_livekit_server,
)
from tests.livekit.participants import SAMPLE_RATE, dispatches, poll_until
from tests.livekit.talking_room import TalkingRoom, talking_room

pytestmark = [pytest.mark.livekit, pytest.mark.serial]

ROOM = "healing"
FAULTY = {"ROOMSCRIBE_TEST_FAULT": "die"}
"""Workers whose engine thread dies at its next decode after SIGUSR1 (``roomscribe.asr.fault``)."""


@dataclass(frozen=True, slots=True)
class Heal:
    rejoined_s: float
    """Kill to the new captioner joining the room."""
    resumed_s: float
    """Kill to the first caption at the listener (the gap people see)."""


def _logs(workers: list[AgentWorker]) -> str:
    return "\n\n".join(f"== {w.log_path.name}\n{w.log_text()[-3000:]}" for w in workers)


async def kill_and_heal(scene: TalkingRoom, workers: list[AgentWorker]) -> Heal:
    """Kill the worker captioning the room while someone talks; wait for captions again."""
    assert await scene.wait_captions_after(scene.now(), 30), _logs(workers)
    live = [w for w in workers if w.process.poll() is None]
    serving = [w for w in live if w.serves(ROOM)]
    assert len(serving) == 1, _logs(workers)
    victim = serving[0]
    dead_sid = scene.captioner_sid()
    killed_at = scene.now()
    victim.crash()

    await poll_until(lambda: scene.joined_after(killed_at, dead_sid) is not None, 40)
    joined = scene.joined_after(killed_at, dead_sid)
    assert joined is not None, f"no captioner joined after the kill\n{_logs(workers)}"
    resumed = await scene.wait_captions_after(joined, 20)
    assert resumed is not None, f"no captions after the new captioner joined\n{_logs(workers)}"

    survivors = [w for w in live if w is not victim]
    assert any(w.serves(ROOM) for w in survivors), _logs(workers)
    assert any("had no captioner for" in w.log_text() for w in survivors), _logs(workers)
    # What an operator's Prometheus sees: the heal, and the room on the new worker.
    scrapes = [scrape(w.health_port) for w in survivors]
    assert sum(m["roomscribe_dispatch_heals_total"] for m in scrapes) >= 1
    assert sum(m["roomscribe_rooms_active"] for m in scrapes) == 1
    return Heal(rejoined_s=joined - killed_at, resumed_s=resumed.t - killed_at)


@dataclass(frozen=True, slots=True)
class EngineHeal:
    left_s: float
    """Fault to the dead engine's captioner leaving the room (pages say "paused")."""
    rejoined_s: float
    resumed_s: float
    exited_s: float
    """Fault to the failed worker's exit (non-zero) for its supervisor to restart it."""


async def fail_engine_and_heal(scene: TalkingRoom, workers: list[AgentWorker]) -> EngineHeal:
    """Kill the engine thread of the worker captioning the room while someone talks."""
    assert await scene.wait_captions_after(scene.now(), 30), _logs(workers)
    live = [w for w in workers if w.process.poll() is None]
    serving = [w for w in live if w.serves(ROOM)]
    assert len(serving) == 1, _logs(workers)
    victim = serving[0]
    dead_sid = scene.captioner_sid()
    failed_at = scene.now()
    os.kill(victim.process.pid, signal.SIGUSR1)  # its next decode kills the engine thread

    await poll_until(lambda: scene.joined_after(failed_at, dead_sid) is not None, 30)
    joined = scene.joined_after(failed_at, dead_sid)
    assert joined is not None, f"no captioner joined after the engine died\n{_logs(workers)}"
    left = scene.left(dead_sid)
    assert left is not None, f"the dead engine's captioner is still in the room\n{_logs(workers)}"
    resumed = await scene.wait_captions_after(joined, 20)
    assert resumed is not None, f"no captions after the new captioner joined\n{_logs(workers)}"
    await poll_until(lambda: victim.process.poll() is not None, 40)
    exited = scene.now()
    # exits non-zero, not killed: `restart: unless-stopped` or Kubernetes restarts it
    assert victim.process.returncode == 1, _logs(workers)
    assert "the recognition engine failed" in victim.log_text()
    assert "handed room" in victim.log_text(), _logs(workers)
    survivors = [w for w in live if w is not victim]
    assert any(w.serves(ROOM) for w in survivors), _logs(workers)
    return EngineHeal(
        left_s=left - failed_at,
        rejoined_s=joined - failed_at,
        resumed_s=resumed.t - failed_at,
        exited_s=exited - failed_at,
    )


def scrape(port: int) -> dict[str, float]:
    """A worker's unlabelled Prometheus samples from ``GET /metrics`` on its health port."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def _report(heals: list[Heal], path: Path) -> None:
    resumed = [h.resumed_s for h in heals]
    summary = {
        "runs": [asdict(h) for h in heals],
        "resumed_p50_s": round(statistics.median(resumed), 2),
        "resumed_max_s": round(max(resumed), 2),
    }
    print(f"\n[heal] captions resumed after {', '.join(f'{x:.1f}' for x in resumed)} s")
    print(f"[heal] p50 {summary['resumed_p50_s']} s, max {summary['resumed_max_s']} s")
    path.write_text(json.dumps(summary, indent=1))


async def test_captions_resume_after_the_serving_worker_is_killed(
    tmp_path: Path, eval_dir: Path, artifacts_dir: Path
) -> None:
    audio = read_wav(eval_dir / "allison-a.wav")
    logs = [artifacts_dir / f"livekit-heal-worker-{i}.log" for i in range(2)]
    with (
        running_livekit_server(tmp_path) as server,
        running_agents(server, logs) as workers,
    ):
        async with talking_room(server, ROOM, audio) as scene:
            heal = await kill_and_heal(scene, workers)
            assert len(await dispatches(server, ROOM)) == 1
    _report([heal], artifacts_dir / "livekit-heal.json")


async def test_a_captioned_room_that_comes_back_without_a_dispatch_gets_one(
    tmp_path: Path, eval_dir: Path, artifacts_dir: Path
) -> None:
    """What a server restart does to rooms, quickly: the room is gone with its dispatch
    (deleted here), and people come back with tokens that dispatch nothing."""
    audio = read_wav(eval_dir / "allison-a.wav")[: int(30 * SAMPLE_RATE)]
    with (
        running_livekit_server(tmp_path) as server,
        running_agent(server, artifacts_dir / "livekit-heal-restore.log") as worker,
    ):
        async with talking_room(server, ROOM, audio) as scene:
            assert await scene.wait_captions_after(0.0, 30), worker.log_text()[-3000:]
            async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as client:
                await client.room.delete_room(api.DeleteRoomRequest(room=ROOM))
        assert await poll_until(lambda: f"left room {ROOM}" in worker.log_text(), 20)
        async with talking_room(server, ROOM, audio, dispatch=False) as scene:
            caption = await scene.wait_captions_after(0.0, 30)
        assert caption is not None, worker.log_text()[-3000:]
        assert "was captioned before but has no dispatch now" in worker.log_text()


@pytest.mark.soak
async def test_heal_time_over_five_kills(
    tmp_path: Path, eval_dir: Path, artifacts_dir: Path
) -> None:
    """Five kills in a row, a fresh worker started after each: heal time p50 and max."""
    audio = read_wav(eval_dir / "allison-a.wav")
    heals: list[Heal] = []
    with ExitStack() as stack:
        server = stack.enter_context(running_livekit_server(tmp_path))
        logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
        workers = list(stack.enter_context(running_agents(server, logs)))
        async with talking_room(server, ROOM, audio) as scene:
            for run in range(5):
                heals.append(await kill_and_heal(scene, workers))
                log = tmp_path / f"worker-{run + 2}.log"
                workers.append(stack.enter_context(running_agent(server, log)))
            assert len(await dispatches(server, ROOM)) == 1
    _report(heals, artifacts_dir / "livekit-heal-soak.json")


async def test_a_worker_whose_engine_dies_leaves_its_room_to_another_and_exits(
    tmp_path: Path, eval_dir: Path, artifacts_dir: Path
) -> None:
    audio = read_wav(eval_dir / "allison-a.wav")
    logs = [artifacts_dir / f"livekit-engine-heal-worker-{i}.log" for i in range(2)]
    with (
        running_livekit_server(tmp_path) as server,
        running_agents(server, logs, env=FAULTY) as workers,
    ):
        async with talking_room(server, ROOM, audio) as scene:
            heal = await fail_engine_and_heal(scene, workers)
            # the new captioner is the only one, and the healthy worker took no second job
            await asyncio.sleep(2)
            assert len(await dispatches(server, ROOM)) == 1
    print(f"\n[engine heal] {heal}")
    # generous bounds: the numbers are the soak test's (below)
    assert heal.left_s < 5, heal
    assert heal.rejoined_s < 10, heal


@pytest.mark.soak
async def test_heal_time_after_engine_death_over_five_runs(
    tmp_path: Path, eval_dir: Path, artifacts_dir: Path
) -> None:
    """Five dead engines in a row, a fresh worker started after each: heal time p50 and max."""
    audio = read_wav(eval_dir / "allison-a.wav")
    heals: list[EngineHeal] = []
    with ExitStack() as stack:
        server = stack.enter_context(running_livekit_server(tmp_path))
        logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
        workers = list(stack.enter_context(running_agents(server, logs, env=FAULTY)))
        async with talking_room(server, ROOM, audio) as scene:
            for run in range(5):
                heals.append(await fail_engine_and_heal(scene, workers))
                log = tmp_path / f"worker-{run + 2}.log"
                workers.append(stack.enter_context(running_agent(server, log, env=FAULTY)))
    summary: dict[str, object] = {"runs": [asdict(h) for h in heals]}
    for name in ("left_s", "rejoined_s", "resumed_s", "exited_s"):
        values = [getattr(h, name) for h in heals]
        summary[f"{name}_p50"] = round(statistics.median(values), 2)
        summary[f"{name}_max"] = round(max(values), 2)
    print(f"\n[engine heal] {json.dumps(summary)}")
    (artifacts_dir / "livekit-engine-heal-soak.json").write_text(json.dumps(summary, indent=1))
