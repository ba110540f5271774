"""``roomscribe`` command line: one subcommand per module.

Each command module provides ``HELP``, ``add_arguments(parser, defaults)`` and
``run(args, settings) -> int``; heavy imports happen inside ``run``. The
settings (:mod:`roomscribe.settings`) are read once, from the environment and
``.env``; they are the flags' defaults, and the flags given replace them.
A value that does not fit is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from roomscribe import __version__

if TYPE_CHECKING:
    from roomscribe.settings import Settings

COMMANDS = {
    "transcribe": "roomscribe.commands.transcribe",
    "bench": "roomscribe.commands.bench",
    "agent": "roomscribe.commands.agent",
    "serve": "roomscribe.commands.serve",
    "dev": "roomscribe.commands.dev",
    "transcripts": "roomscribe.commands.transcripts",
}


def build_parser(defaults: Settings | None = None) -> argparse.ArgumentParser:
    """Every command's flags; ``defaults`` from the environment when not given."""
    from roomscribe.settings import load_settings

    if defaults is None:
        defaults = load_settings()
    parser = argparse.ArgumentParser(
        prog="roomscribe", description="Live captions for WebRTC calls with streaming Whisper."
    )
    parser.add_argument("--version", action="version", version=f"roomscribe {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--timing",
        action="store_true",
        help="log where a caption's time goes (roomscribe.timing marks; bench.listener)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p, defaults)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dotenv import load_dotenv

    from roomscribe.settings import SettingsError, load_settings

    load_dotenv()
    try:
        settings = load_settings()
        args = build_parser(settings).parse_args(argv)
        settings = settings.with_flags(vars(args))
    except SettingsError as exc:
        return _refuse(exc)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.timing:
        from roomscribe import timing

        timing.LOG.setLevel(logging.DEBUG)
    try:
        return int(args._run(args, settings))
    except SettingsError as exc:  # settings that do not fit together (LiveKit URL, no key)
        return _refuse(exc)
    except KeyboardInterrupt:
        return 130


def _refuse(exc: Exception) -> int:
    """Each bad setting on one line of stderr, no traceback; exit code 2 (as argparse)."""
    for line in str(exc).splitlines():
        print(f"roomscribe: {line}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
