"""Build the process-wide recognition engine from settings."""

from __future__ import annotations

import logging
import time

from roomscribe import memory, timing
from roomscribe.asr.backend import Backend
from roomscribe.asr.engine import Engine
from roomscribe.asr.fault import Fault, FaultyBackend
from roomscribe.asr.vad import SileroModel
from roomscribe.asr.whisper import WhisperBackend
from roomscribe.settings.asr import AsrOptions

log = logging.getLogger(__name__)


def build_engine(options: AsrOptions, fault: Fault | None = None) -> Engine:
    """Load the Whisper model and the VAD once; the engine is not started yet.

    ``fault`` (tests only): the model is wrapped in a :class:`FaultyBackend`,
    ``engine.backend``, to be armed."""
    memory.limit_arenas()  # before the model's and the engine's threads allocate
    t0 = time.perf_counter()
    backend = WhisperBackend.load(options.whisper, options.cache_dir)
    timed: Backend = timing.TimedBackend(backend) if timing.enabled() else backend
    if fault is not None:
        timed = FaultyBackend(timed, fault)
    engine = Engine(timed, SileroModel(), options.engine)
    log.info(
        "loaded Whisper %s in %.1f s (max %d streams)",
        options.whisper.model,
        time.perf_counter() - t0,
        options.engine.max_streams,
    )
    return engine
