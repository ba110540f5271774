"""``roomscribe`` command line: one subcommand per module.

Each command module provides ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; heavy imports happen inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from roomscribe import __version__

COMMANDS = {
    "transcribe": "roomscribe.commands.transcribe",
    "bench": "roomscribe.commands.bench",
    "agent": "roomscribe.livekit.command",
    "serve": "roomscribe.server.command",
    "dev": "roomscribe.devstack",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roomscribe", description="Live captions for WebRTC calls with streaming Whisper."
    )
    parser.add_argument("--version", action="version", version=f"roomscribe {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dotenv import load_dotenv

    load_dotenv()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
