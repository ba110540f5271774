"""``roomscribe dev`` supervision: stop everything when one child dies or on a signal."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import pytest

from roomscribe.config import Settings, load_settings
from roomscribe.devstack import DevStack

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
