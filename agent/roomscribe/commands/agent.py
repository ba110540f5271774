"""``roomscribe agent``: caption LiveKit rooms the ``roomscribe`` agent is dispatched to."""

from __future__ import annotations

import argparse
import logging

from roomscribe.settings import Settings, add_settings

HELP = "run the LiveKit captioning worker (explicit dispatch, agent name 'roomscribe')"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    add_settings(parser, defaults, "asr", "livekit", "worker", "store")


def run(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio
    import signal

    from roomscribe.asr.fault import FaultyBackend
    from roomscribe.livekit.encryption import SharedKey
    from roomscribe.livekit.worker import CaptionWorker, WorkerOptions
    from roomscribe.runtime import build_engine

    livekit = settings.livekit()
    if livekit is None:
        raise SystemExit(
            "roomscribe agent needs a LiveKit server: set LIVEKIT_URL (or --livekit-url)"
        )
    record = settings.record()
    writer = None
    if record is not None:
        from roomscribe.store import RecordWriter

        writer = RecordWriter(record)
        writer.start()  # an unusable data dir or Redis URL stops the worker here, loudly
        hours = record.retention_s / 3600
        log.info("transcripts kept in %s for %.0f h", writer.store.location, hours)
    if settings.e2ee_key:
        log.info("end-to-end encrypted rooms: joined with the key in ROOMSCRIBE_E2EE_KEY")
    engine = build_engine(settings.asr(), fault=settings.test_fault or None)
    engine.start()

    async def serve() -> bool:
        worker = CaptionWorker(
            engine,
            WorkerOptions(
                livekit=livekit,
                health_host=settings.health_host,
                health_port=settings.health_port,
                record=writer,
                keys=SharedKey(settings.e2ee_key) if settings.e2ee_key else None,
            ),
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.stop)
        if isinstance(engine.backend, FaultyBackend):
            log.warning("test fault %r armed by SIGUSR1", settings.test_fault)
            loop.add_signal_handler(signal.SIGUSR1, engine.backend.arm)
        await worker.run()
        return worker.failed

    failed = True
    try:
        failed = asyncio.run(serve())
    finally:
        if engine.healthy:  # a dead or stuck engine thread cannot be joined
            engine.close()
        if writer is not None:
            writer.close()
    if failed:
        log.critical("worker stopped: its engine failed; exiting for a restart")
        return 1
    log.info("worker stopped")
    return 0
