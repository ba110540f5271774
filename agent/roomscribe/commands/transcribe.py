"""``roomscribe transcribe FILE``: stream a file through the core, print captions live."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roomscribe.asr.engine import EngineOptions
    from roomscribe.settings import Settings
    from roomscribe.settings.asr import AsrOptions

HELP = "Caption an audio/video file as if it were spoken live."


def add_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    from roomscribe.formats import FORMATS
    from roomscribe.replay import Pace
    from roomscribe.settings import add_settings

    parser.add_argument("file", type=Path, help="any audio or video file FFmpeg can read")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format")
    parser.add_argument(
        "--pace",
        choices=[p.value for p in Pace],
        default=Pace.SIMULATED.value,
        help="realtime: wall clock; simulated: virtual clock that charges real compute time "
        "(same caption times, no waiting); none: as fast as possible",
    )
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    parser.add_argument(
        "--vocabulary",
        type=vocabulary_argument,
        default=(),
        help="comma-separated terms likely to be spoken (names, product words, acronyms)",
    )
    add_settings(parser, defaults, "asr")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from roomscribe.asr.models import ModelNotFoundError
    from roomscribe.asr.policy import StreamPolicy
    from roomscribe.asr.scheduler import Scheduler
    from roomscribe.asr.vad import SileroModel
    from roomscribe.asr.whisper import WhisperBackend
    from roomscribe.audio.decode import AudioDecodeError, decode_file
    from roomscribe.formats import CaptionWriter
    from roomscribe.replay import Emitted, Pace, replay

    asr = settings.asr()
    try:
        audio = decode_file(args.file)
        backend = WhisperBackend.load(asr.whisper, asr.cache_dir)
    except (AudioDecodeError, ModelNotFoundError) as exc:
        print(f"roomscribe: {exc}", file=sys.stderr)
        return 2
    out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    writer = CaptionWriter(args.format, out)
    engine = file_options(asr, args.vocabulary)
    policy = StreamPolicy(SileroModel(), engine.policy)

    def emit(e: Emitted) -> None:
        writer.write(e.caption, e.emitted_at)

    try:
        replay(
            Scheduler(backend, engine.scheduler),
            [policy],
            [audio],
            pace=Pace(args.pace),
            on_caption=emit,
        )
    finally:
        writer.close()
        if args.output:
            out.close()
    return 0


def file_options(asr: AsrOptions, vocabulary: tuple[str, ...]) -> EngineOptions:
    """The live engine's options, for a file: unlike a live stream, its end waits for
    its last revision, so the transcript written (SRT, VTT, text, JSON) is revised
    to the end."""
    engine = asr.engine
    revision = replace(engine.policy.revision, revise_at_close=True)
    policy = replace(engine.policy, vocabulary=vocabulary, revision=revision)
    return replace(engine, policy=policy)


def vocabulary_argument(text: str) -> tuple[str, ...]:
    """``--vocabulary "Asterisk, VoIP, Digium"``: validated terms (as the room vocabulary)."""
    from roomscribe.vocabulary import VocabularyError, parse_terms

    try:
        return parse_terms(text)
    except VocabularyError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
