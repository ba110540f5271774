"""``roomscribe dev``: livekit-server, the caption agent and the web server, together.

What ``make run`` starts. The three run as child processes, each in its own
session so a Ctrl-C reaches only this supervisor, which then stops them in
order: web server and agent first (the agent publishes its last captions while
LiveKit is still up), livekit-server last. If one child dies, the others are
stopped too and the exit code says so.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from roomscribe.livekit import dev_server
from roomscribe.settings import CHECKOUT, Settings, add_settings

HELP = "start livekit-server (dev keys), the caption agent and the web server"

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 25.0
DRAIN_GRACE_S = 0.5
"""How long livekit-server may stop by itself before the second SIGTERM."""


def add_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    add_settings(parser, defaults, "host", "port", "dev")


@dataclass(slots=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]


def _roomscribe(*args: str) -> list[str]:
    return [sys.executable, "-m", "roomscribe.cli", *args]


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class DevStack:
    """Starts the three processes; :meth:`wait` returns when one exits or on a signal."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._children: list[Child] = []
        self._stop = threading.Event()
        self._log_dir = CHECKOUT / ".cache"

    def request_stop(self, signum: int, frame: FrameType | None = None) -> None:
        log.info("stopping (signal %d)", signum)
        self._stop.set()

    def start(self) -> None:
        binary: Path = self._settings.livekit_server
        if not binary.is_file():
            raise SystemExit(f"{binary} not found: run scripts/install-livekit.sh (or make setup)")
        for port, what in (
            (dev_server.PORT, "livekit-server"),
            (self._settings.port, "the web server"),
        ):
            if _port_in_use(port):
                raise SystemExit(
                    f"port {port} for {what} is in use: is roomscribe already running?"
                )
        self._log_dir.mkdir(exist_ok=True)
        lk_log = self._log_dir / "livekit-server.log"
        with lk_log.open("wb") as out:
            self._spawn(
                "livekit-server",
                dev_server.command(binary),
                stdout=out,
            )
        log.info("livekit-server starting (log: %s)", lk_log)
        self._wait_until(dev_server.running, "livekit-server", 20)

        env = dev_server.agent_env()
        registered = threading.Event()
        agent = _roomscribe("agent", "--health-port", "0")
        self._spawn("roomscribe agent", agent, env=env, stdout=subprocess.PIPE)
        self._relay(self._children[-1].process, dev_server.REGISTERED, registered)
        serve = ["serve", "--host", self._settings.host, "--port", str(self._settings.port)]
        self._spawn("roomscribe serve", _roomscribe(*serve), env=env)
        web = f"http://{self._settings.host}:{self._settings.port}"
        self._wait_until(lambda: dev_server.answers(web + "/healthz"), "roomscribe serve", 60)
        # a room created before the worker registers waits for the healer (~7 s)
        self._wait_until(registered.is_set, "roomscribe agent", 120)
        shown = (
            f"http://localhost:{self._settings.port}" if self._settings.host == "127.0.0.1" else web
        )
        log.info("roomscribe is running: open %s  (Ctrl-C stops everything)", shown)

    def wait(self) -> int:
        """Block until a signal (exit code 0) or until a child exits (1)."""
        while not self._stop.wait(0.2):
            for child in self._children:
                code = child.process.poll()
                if code is not None:
                    log.error("%s exited with code %d; stopping the others", child.name, code)
                    return 1
        return 0

    def stop(self) -> None:
        """Web server and agent first (the agent finalizes and publishes what is
        open), then livekit-server, without its drain: a first SIGTERM makes it
        wait for every participant to leave (browsers stay), a second one makes
        it stop at once."""
        apps = [c for c in self._children if c.name != "livekit-server"]
        server = [c for c in self._children if c.name == "livekit-server"]
        for group in (apps, server):
            for child in group:
                if child.process.poll() is None:
                    child.process.send_signal(signal.SIGTERM)
            for child in group if group is server else ():
                try:
                    child.process.wait(DRAIN_GRACE_S)
                except subprocess.TimeoutExpired:
                    child.process.send_signal(signal.SIGTERM)
            for child in group:
                try:
                    child.process.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop in %.0f s; killing it", child.name, STOP_TIMEOUT_S)
                    child.process.kill()
                    child.process.wait()
        self._children.clear()

    def _spawn(
        self,
        name: str,
        cmd: list[str],
        *,
        env: dict[str, str] | None = None,
        stdout: IO[bytes] | int | None = None,
    ) -> None:
        process = subprocess.Popen(
            cmd,
            env=env,
            cwd=CHECKOUT,
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout is not None else None,
            start_new_session=True,  # Ctrl-C reaches only the supervisor
        )
        self._children.append(Child(name, process))

    @staticmethod
    def _relay(process: subprocess.Popen[bytes], marker: bytes, seen: threading.Event) -> None:
        """Copy the child's output to ours, and set ``seen`` once a line has ``marker``."""

        def run() -> None:
            assert process.stdout is not None
            with process.stdout as out:
                for line in out:
                    sys.stderr.buffer.write(line)
                    sys.stderr.buffer.flush()
                    if marker in line:
                        seen.set()

        threading.Thread(target=run, name="roomscribe-dev-relay", daemon=True).start()

    def _wait_until(self, ready: Callable[[], bool], name: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not ready():
            if self._stop.is_set():
                raise SystemExit(f"interrupted while waiting for {name}")
            for child in self._children:
                if child.process.poll() is not None:
                    raise SystemExit(f"{child.name} exited with code {child.process.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not come up within {timeout_s:.0f} s")
            time.sleep(0.2)


def run(args: argparse.Namespace, settings: Settings) -> int:
    stack = DevStack(settings)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stack.request_stop)
    try:
        stack.start()
        return stack.wait()
    finally:
        stack.stop()
        log.info("stopped")
