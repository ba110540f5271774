"""What a test can read from a running ``roomscribe agent`` worker from the outside.

Its memory (psutil on the process tree), its engine's stream count (the
``roomscribe_streams_active`` gauge on the health port's ``/metrics``, or,
where that is not served, the pipelines its log opened and did not close),
and the problems its log reports (tracebacks, errors, closes that hung).
"""

from __future__ import annotations

import contextlib
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

import psutil

from tests.fixtures.livekit import AgentWorker

_OPENED = re.compile(r" captioning (\S+/\S+) \(language: ")
_CLOSED = re.compile(r" stopped captioning (\S+/\S+)$")
_LEVEL = re.compile(r"^\S+ \S+ (ERROR|CRITICAL) ")
_HUNG = ("did not stop within", "dropped a caption stream")
"""Warnings of a close that hit its bound: a stuck step, so a leak in the making."""


def rss_bytes(worker: AgentWorker) -> int:
    """Resident memory of the worker process and its children (job processes, if any)."""
    parent = psutil.Process(worker.process.pid)
    procs = [parent, *parent.children(recursive=True)]
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):  # a job process that just ended
            total += p.memory_info().rss
    return total


def metric(worker: AgentWorker, name: str) -> float | None:
    """A sample of ``name`` from the worker's ``/metrics`` (``None`` when not served)."""
    url = f"http://127.0.0.1:{worker.health_port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
    except (urllib.error.HTTPError, OSError):
        return None
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return None


@dataclass(frozen=True, slots=True)
class StreamCount:
    active: int
    source: str
    """``metrics`` (the engine's own gauge) or ``log`` (pipelines opened minus closed)."""


def open_pipelines(log: str) -> list[str]:
    """Tracks the log says were captioned and not (yet) stopped."""
    opened: dict[str, int] = {}
    for line in log.splitlines():
        if m := _OPENED.search(line):
            opened[m[1]] = opened.get(m[1], 0) + 1
        elif m := _CLOSED.search(line):
            opened[m[1]] = opened.get(m[1], 0) - 1
    return sorted(name for name, n in opened.items() if n != 0)


def streams_active(worker: AgentWorker) -> StreamCount:
    gauge = metric(worker, "roomscribe_streams_active")
    if gauge is not None:
        return StreamCount(int(gauge), "metrics")
    return StreamCount(len(open_pipelines(worker.log_text())), "log")


def log_problems(log: str) -> list[str]:
    """Lines that mean something went wrong: tracebacks, ERROR/CRITICAL records, hung closes."""
    return [
        line
        for line in log.splitlines()
        if "Traceback (most recent call last)" in line
        or _LEVEL.match(line)
        or any(h in line for h in _HUNG)
    ]
