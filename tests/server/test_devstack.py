"""``roomscribe dev`` supervision: stop everything when one child dies or on a signal."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from roomscribe.commands.dev import DevStack
from roomscribe.settings import Settings, load_settings
from tests.fixtures.livekit import (
    API_KEY,
    API_SECRET,
    LIVEKIT_BIN,
    LiveKitConfig,
    LiveKitServer,
    http_probe,
    wait_serving,
)
from tests.livekit.participants import connect

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def make_settings(**overrides: object) -> Settings:
    return load_settings().with_flags(overrides)


def test_missing_livekit_server_is_explained(tmp_path: Path) -> None:
    stack = DevStack(make_settings(livekit_server=tmp_path / "livekit-server"))
    with pytest.raises(SystemExit, match=r"install-livekit\.sh"):
        stack.start()


def test_a_dying_child_stops_the_others() -> None:
    stack = DevStack(make_settings())
    stack._spawn("sleeper", SLEEPER)
    stack._spawn("crasher", [sys.executable, "-c", "raise SystemExit(3)"])
    sleeper = stack._children[0].process
    assert stack.wait() == 1
    stack.stop()
    assert sleeper.returncode == -signal.SIGTERM


def test_a_signal_stops_everything_cleanly() -> None:
    stack = DevStack(make_settings())
    stack._spawn("sleeper", SLEEPER)
    sleeper = stack._children[0].process
    threading.Timer(0.3, stack.request_stop, args=(signal.SIGINT,)).start()
    assert stack.wait() == 0
    stack.stop()
    assert sleeper.returncode == -signal.SIGTERM


@pytest.mark.livekit
async def test_livekit_server_stops_at_once_while_a_participant_stays(tmp_path: Path) -> None:
    """A first SIGTERM makes livekit-server wait for every participant to leave
    (a browser never does): stop() must not wait for that drain nor kill it."""
    ports = LiveKitConfig.free()
    config = tmp_path / "livekit.yaml"
    config.write_text(ports.yaml())
    stack = DevStack(make_settings())
    stack._spawn("livekit-server", [str(LIVEKIT_BIN), "--config", str(config)])
    server = stack._children[0].process
    url = f"http://127.0.0.1:{ports.port}/"
    wait_serving(http_probe(url), server, tmp_path / "none.log", url)
    lk = LiveKitServer(f"ws://127.0.0.1:{ports.port}", url, API_KEY, API_SECRET)
    guest = await connect(lk, "stays", "guest")
    try:
        started = time.monotonic()
        await asyncio.to_thread(stack.stop)
        took = time.monotonic() - started
    finally:
        await guest.disconnect()
    assert server.returncode == 0  # stopped by itself, not killed after STOP_TIMEOUT_S
    assert took < 10, took


def test_the_agent_counts_as_up_once_it_says_it_registered(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """make run says "running" only when a new room gets its captioner at once."""
    stack = DevStack(make_settings())
    line = "INFO livekit.agents: registered worker"
    stack._spawn("agent", [sys.executable, "-c", f"print('loading'); print({line!r})"], stdout=-1)
    seen = threading.Event()
    stack._relay(stack._children[0].process, b"registered worker", seen)
    assert seen.wait(10)
    stack.stop()
    assert "loading" in capfd.readouterr().err  # the agent's output still reaches the terminal
