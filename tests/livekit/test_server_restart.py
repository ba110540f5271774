"""livekit-server killed and restarted (same config): the worker registers again by
itself and people who come back get captions again, without restarting roomscribe.

The server keeps rooms and dispatches in memory, so after the restart the room
is created anew by whoever reconnects first, with a token that carries no
dispatch (as an SDK's reconnect would). After a short outage the captioner's
own connection comes back and picks up the tracks published meanwhile; after a
long one its job has ended, and the worker's healer, which remembers the room
was captioned, dispatches it again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import read_wav
from tests.fixtures.livekit import LiveKitConfig, running_agent, running_livekit_server
from tests.livekit.participants import SAMPLE_RATE, poll_until
from tests.livekit.talking_room import talking_room

pytestmark = pytest.mark.livekit

ROOM = "restart"


@pytest.mark.parametrize(
    "downtime_s",
    [
        # the agent's room reconnects by itself, after the people
        pytest.param(5.0, id="short"),
        # longer than the agent's own reconnection tries: its job ends, and the
        # worker's retries are 10 s apart by then
        pytest.param(50.0, id="long", marks=pytest.mark.soak),
    ],
)
async def test_captions_come_back_after_a_server_restart(
    downtime_s: float, tmp_path: Path, eval_dir: Path, artifacts_dir: Path
) -> None:
    audio = read_wav(eval_dir / "allison-a.wav")[: int(40 * SAMPLE_RATE)]
    config = LiveKitConfig.free()
    server_log = artifacts_dir / "livekit-restart-server.log"
    server_log.unlink(missing_ok=True)
    with ExitStack() as stack:
        with running_livekit_server(tmp_path, server_log, config) as server:
            worker = stack.enter_context(
                running_agent(server, artifacts_dir / "livekit-restart-worker.log")
            )
            async with talking_room(server, ROOM, audio) as scene:
                assert await scene.wait_captions_after(0.0, 30), worker.log_text()[-3000:]
                os.kill(server.pid, signal.SIGKILL)
                killed_at = time.monotonic()
        await asyncio.sleep(downtime_s - (time.monotonic() - killed_at))
        assert worker.process.poll() is None, worker.log_text()[-3000:]

        with running_livekit_server(tmp_path, server_log, config) as server:
            restarted_at = time.monotonic()
            # the same people come back to the same room, with tokens that dispatch nothing
            async with talking_room(
                server, ROOM, audio, dispatch=False, agent_timeout_s=60
            ) as scene:
                caption = await scene.wait_captions_after(0.0, 30)
                captioned_at = time.monotonic()
                assert caption is not None, worker.log_text()[-5000:]
            # the worker's own retries (up to 10 s apart) may come after the captions
            await poll_until(lambda: worker.log_text().count("registered worker") >= 2, 30)
            assert worker.log_text().count("registered worker") == 2, worker.log_text()[-3000:]
            assert worker.process.poll() is None, worker.log_text()[-3000:]
            stack.close()  # the worker leaves before the server stops (it waits for rooms)
    print(
        f"\n[restart] server down {restarted_at - killed_at:.1f} s; first caption "
        f"{captioned_at - restarted_at:.1f} s after the restart"
    )
