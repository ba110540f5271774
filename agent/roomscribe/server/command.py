"""``roomscribe serve``: the web client and its API (LiveKit or embedded mode)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from roomscribe.settings import (
    add_asr_arguments,
    add_livekit_arguments,
    asr_from_args,
    livekit_from_args,
)

HELP = "serve the web client and its token API (embedded mode when no LiveKit is configured)"

log = logging.getLogger(__name__)

DEFAULT_WEB_DIR = Path(__file__).resolve().parents[3] / "web-client" / "dist"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # embedded.py owns its flags (importing it costs ~1 s of aiortc/fastapi imports)
    from roomscribe.server.embedded import add_embedded_arguments

    env = os.environ.get
    parser.add_argument(
        "--host", default=env("ROOMSCRIBE_HOST", "127.0.0.1"), help="[ROOMSCRIBE_HOST]"
    )
    parser.add_argument(
        "--port", type=int, default=int(env("ROOMSCRIBE_PORT", "8000")), help="[ROOMSCRIBE_PORT]"
    )
    parser.add_argument(
        "--web-dir",
        type=Path,
        default=Path(env("ROOMSCRIBE_WEB_DIR", str(DEFAULT_WEB_DIR))),
        help="the built web client [ROOMSCRIBE_WEB_DIR]",
    )
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="caption over direct WebRTC in this process, without LiveKit "
        "(also the mode when LIVEKIT_URL is not set)",
    )
    add_livekit_arguments(parser)
    add_asr_arguments(parser)
    add_embedded_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from roomscribe.server.app import AppOptions, create_app

    livekit = None if args.embedded else livekit_from_args(args)
    if livekit is None:
        from roomscribe.server.embedded import embedded_options_from_args

        options = AppOptions(
            asr=asr_from_args(args),
            embedded=embedded_options_from_args(args),
            web_dir=args.web_dir,
        )
        log.info("embedded mode: captions over direct WebRTC, no LiveKit server")
    else:
        options = AppOptions(livekit=livekit, web_dir=args.web_dir)
        log.info("LiveKit mode: %s", livekit.url)
    app = create_app(options)
    host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0") else args.host
    log.info("open http://%s:%d", host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", log_config=None)
    return 0
