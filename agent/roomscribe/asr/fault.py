"""A test-only engine fault, armed from outside the process (``ROOMSCRIBE_TEST_FAULT``).

Tests of what a worker does when its engine dies or hangs need a real worker
process whose engine really stops, on cue: :class:`FaultyBackend` wraps the
model, and once :meth:`FaultyBackend.arm` is called (the ``agent`` command does
it on ``SIGUSR1`` when the setting is on) its next decode either kills the
engine thread (``die``: an uncaught :class:`InjectedFault`, as a native crash
would) or never returns (``hang``: a stuck decode). Never set in production.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Literal

from roomscribe.asr.backend import Backend, DecodeRequest, DecodeResult

Fault = Literal["die", "hang"]


class InjectedFault(BaseException):
    """Raised through the engine thread: the scheduler contains ``Exception`` only."""


class FaultyBackend:
    """``inner``, until :meth:`arm` makes its next decode fail as ``fault`` says."""

    def __init__(self, inner: Backend, fault: Fault) -> None:
        self._inner = inner
        self._fault = fault
        self._armed = threading.Event()

    @property
    def multilingual(self) -> bool:
        return self._inner.multilingual

    def arm(self) -> None:
        """Make the next decode (and every later one) fail."""
        self._armed.set()

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        if self._armed.is_set():
            if self._fault == "hang":
                threading.Event().wait()
            raise InjectedFault("test fault: the engine thread dies")
        return self._inner.decode(requests)
