"""Opt-in timing marks: where a caption's time goes inside the LiveKit agent.

Off by default. The marks are DEBUG records of the logger ``roomscribe.timing``,
whose own level is INFO (so ``roomscribe -v`` does not turn them on either);
``roomscribe --timing agent ...`` runs a roomscribe command with them on
(what :mod:`roomscribe.bench.listener` does). Every place that marks checks
:func:`enabled` once (per track, per caption), so when off they cost a flag test.

One mark is one log line ``mark STAGE t=UNIX key=value ...`` (``t``:
``time.time()`` when it was taken, comparable with other processes on the
machine). Stages:

* ``audio`` (``pipeline``): a frame came out of ``rtc.AudioStream`` (Opus
  decoded, resampled to 16 kHz) onto the event loop and was pushed; ``track``,
  ``pushed`` (stream seconds pushed after it), ``peak`` (its largest
  ``|sample|``, int16: to line the received audio up with the file sent).
* ``decode`` (``runtime``'s :class:`TimedBackend`, engine thread): one model
  call; ``start``, ``requests``, ``finals`` (live final decodes in it),
  ``revisions`` (revision-pass decodes in it), ``audio`` (seconds of audio in it).
* ``engine_out`` (``aio``, engine thread): the engine handed a caption over;
  ``segment`` (the engine's id), ``final``, ``revision``, ``start``, ``end``
  (stream seconds), ``pushed`` (stream seconds pushed by then).
* ``loop_in`` (``pipeline``): the caption reached the track's event loop and
  was queued for publishing; ``track``, ``segment``.
* ``send_start``, ``stream_sent``, ``legacy_sent`` (``publisher``): the
  publisher took the caption off its queue (``queued``: captions still
  behind it), closed its ``lk.transcription`` text stream, sent its legacy
  transcription packet; ``segment`` as published (``TRACK-ID``).
* ``loop_lag`` (``captioner``): the room's event loop ran a 20 ms timer
  ``lag`` seconds late (only lags over :data:`LOOP_LAG_REPORT_S`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from roomscribe.asr.backend import SAMPLE_RATE

if TYPE_CHECKING:
    from roomscribe.asr.backend import Backend, DecodeRequest, DecodeResult

LOG = logging.getLogger("roomscribe.timing")
LOG.setLevel(logging.INFO)  # not on with ``roomscribe -v`` (DEBUG everywhere): 200 lines/s

LOOP_TICK_S = 0.02
LOOP_LAG_REPORT_S = 0.03
"""A loop that runs a timer this much late is marked (``loop_lag``)."""


def enabled() -> bool:
    return LOG.isEnabledFor(logging.DEBUG)


def mark(stage: str, **fields: object) -> None:
    """Log one mark now (callers check :func:`enabled` first)."""
    LOG.debug(
        "mark %s t=%.6f %s", stage, time.time(), " ".join(f"{k}={v}" for k, v in fields.items())
    )


@dataclass(frozen=True, slots=True)
class Mark:
    stage: str
    t: float
    fields: dict[str, str]

    def num(self, key: str) -> float:
        return float(self.fields[key])


_MARK = re.compile(r"roomscribe\.timing: mark (\S+) t=(\S+) ?(.*)$")


def parse(text: str) -> list[Mark]:
    """The marks in a log (other lines are skipped)."""
    marks = []
    for line in text.splitlines():
        m = _MARK.search(line)
        if m:
            fields = dict(kv.split("=", 1) for kv in m.group(3).split() if "=" in kv)
            marks.append(Mark(m.group(1), float(m.group(2)), fields))
    return marks


class TimedBackend:
    """A backend whose every model call is marked (``decode``)."""

    def __init__(self, inner: Backend) -> None:
        self._inner = inner

    @property
    def multilingual(self) -> bool:
        return self._inner.multilingual

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        start = time.time()
        results = self._inner.decode(requests)
        mark(
            "decode",
            start=f"{start:.6f}",
            requests=len(requests),
            finals=sum(r.final and not r.long_form for r in requests),
            revisions=sum(r.long_form for r in requests),
            audio=f"{sum(len(r.audio) for r in requests) / SAMPLE_RATE:.2f}",
        )
        return results


async def watch_loop(name: str) -> None:
    """Mark every time this event loop runs a 20 ms timer late by more than 30 ms."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + LOOP_TICK_S
        await asyncio.sleep(LOOP_TICK_S)
        lag = loop.time() - due
        if lag > LOOP_LAG_REPORT_S:
            mark("loop_lag", room=name, lag=f"{lag:.3f}")
