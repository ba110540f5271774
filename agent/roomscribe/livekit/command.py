"""``roomscribe agent``: caption LiveKit rooms the ``roomscribe`` agent is dispatched to."""

from __future__ import annotations

import argparse
import logging
import os

from roomscribe.settings import (
    add_asr_arguments,
    add_livekit_arguments,
    asr_from_args,
    livekit_from_args,
)

HELP = "run the LiveKit captioning worker (explicit dispatch, agent name 'roomscribe')"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_asr_arguments(parser)
    add_livekit_arguments(parser)
    parser.add_argument(
        "--health-port",
        type=int,
        default=int(os.environ.get("ROOMSCRIBE_HEALTH_PORT", "8081")),
        help="port of the worker's HTTP health check, 0 = any free port [ROOMSCRIBE_HEALTH_PORT]",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from roomscribe.livekit.worker import CaptionWorker, WorkerOptions
    from roomscribe.runtime import build_engine

    livekit = livekit_from_args(args)
    if livekit is None:
        raise SystemExit(
            "roomscribe agent needs a LiveKit server: set LIVEKIT_URL (or --livekit-url)"
        )
    engine = build_engine(asr_from_args(args))
    engine.start()

    async def serve() -> None:
        worker = CaptionWorker(engine, WorkerOptions(livekit=livekit, health_port=args.health_port))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.stop)
        await worker.run()

    try:
        asyncio.run(serve())
    finally:
        engine.close()
    log.info("worker stopped")
    return 0
