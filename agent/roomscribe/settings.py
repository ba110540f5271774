"""Typed settings, parsed once by the CLI from flags, environment and ``.env``.

Every flag's default comes from an environment variable (listed in
``.env.example``); nothing reads the environment at import time.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from roomscribe.asr.engine import EngineOptions
from roomscribe.asr.models import default_cache_dir
from roomscribe.asr.policy import PolicyOptions
from roomscribe.asr.revision import RevisionOptions
from roomscribe.asr.scheduler import SchedulerOptions
from roomscribe.asr.whisper import WhisperOptions


@dataclass(frozen=True, slots=True)
class AsrSettings:
    """Everything needed to build the shared recognition engine."""

    whisper: WhisperOptions = field(default_factory=WhisperOptions)
    language: str | None = None
    """Language code, or ``None`` (``auto``) to detect it per stream."""
    max_streams: int = 8
    max_batch: int = 8
    """Decodes of different streams run through the model in one call."""
    cache_dir: Path = field(default_factory=default_cache_dir)

    def engine_options(self) -> EngineOptions:
        return EngineOptions(
            max_streams=self.max_streams,
            # a live stream that closes frees its slot at once (no last revision)
            policy=PolicyOptions(
                language=self.language, revision=RevisionOptions(revise_at_close=False)
            ),
            scheduler=SchedulerOptions(max_batch=self.max_batch),
        )


@dataclass(frozen=True, slots=True)
class LiveKitSettings:
    url: str = "ws://127.0.0.1:7880"
    api_key: str = "devkey"
    api_secret: str = "secret"
    public_url: str = ""
    """Where browsers reach the server, when not at ``url`` (which the agent and
    the token service use, e.g. a loopback or cluster-internal address)."""

    @property
    def browser_url(self) -> str:
        return self.public_url or self.url


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def add_asr_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("speech recognition")
    g.add_argument(
        "--model",
        default=_env("ROOMSCRIBE_MODEL", "base"),
        help="base (multilingual, default), tiny.en (fastest), any faster-whisper name, "
        "or a local CTranslate2 directory [ROOMSCRIBE_MODEL]",
    )
    g.add_argument(
        "--language",
        default=_env("ROOMSCRIBE_LANGUAGE", "auto"),
        help="language code, or auto to detect per stream [ROOMSCRIBE_LANGUAGE]",
    )
    g.add_argument(
        "--task",
        choices=["transcribe", "translate"],
        default=_env("ROOMSCRIBE_TASK", "transcribe"),
        help="translate: caption in English whatever is spoken [ROOMSCRIBE_TASK]",
    )
    g.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default=_env("ROOMSCRIBE_DEVICE", "auto"),
        help="[ROOMSCRIBE_DEVICE]",
    )
    g.add_argument(
        "--compute-type",
        default=_env("ROOMSCRIBE_COMPUTE_TYPE", "auto"),
        help="auto: int8 on CPU, float16 on CUDA [ROOMSCRIBE_COMPUTE_TYPE]",
    )
    g.add_argument(
        "--threads",
        type=int,
        default=int(_env("ROOMSCRIBE_THREADS", "0")),
        help="CPU threads for the model, 0 = all cores [ROOMSCRIBE_THREADS]",
    )
    g.add_argument(
        "--beam-size",
        type=int,
        default=int(_env("ROOMSCRIBE_BEAM_SIZE", "5")),
        help="beam width of final decodes [ROOMSCRIBE_BEAM_SIZE]",
    )
    g.add_argument(
        "--max-streams",
        type=int,
        default=int(_env("ROOMSCRIBE_MAX_STREAMS", "8")),
        help="concurrent audio streams one process accepts [ROOMSCRIBE_MAX_STREAMS]",
    )
    g.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(_env("ROOMSCRIBE_CACHE_DIR", str(default_cache_dir()))),
        help="where the bundled base model is assembled [ROOMSCRIBE_CACHE_DIR]",
    )


def asr_from_args(args: argparse.Namespace) -> AsrSettings:
    from roomscribe.languages import UnknownLanguageError, parse_language

    try:
        language = parse_language(args.language)
    except UnknownLanguageError as e:
        raise SystemExit(f"--language: {e}") from None
    whisper = replace(
        WhisperOptions(),
        model=args.model,
        device=args.device,
        compute_type=args.compute_type,
        threads=args.threads,
        task=args.task,
        beam_size=args.beam_size,
    )
    if args.max_streams < 1:
        raise SystemExit("--max-streams must be at least 1")
    return AsrSettings(
        whisper=whisper,
        language=language,
        max_streams=args.max_streams,
        cache_dir=args.cache_dir.expanduser(),
    )


def add_livekit_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("LiveKit")
    g.add_argument("--livekit-url", default=_env("LIVEKIT_URL", ""), help="[LIVEKIT_URL]")
    g.add_argument(
        "--livekit-public-url",
        default=_env("LIVEKIT_PUBLIC_URL", ""),
        help="the LiveKit URL handed to browsers, if not --livekit-url [LIVEKIT_PUBLIC_URL]",
    )
    g.add_argument("--api-key", default=_env("LIVEKIT_API_KEY", ""), help="[LIVEKIT_API_KEY]")
    g.add_argument(
        "--api-secret", default=_env("LIVEKIT_API_SECRET", ""), help="[LIVEKIT_API_SECRET]"
    )


def livekit_from_args(args: argparse.Namespace) -> LiveKitSettings | None:
    """LiveKit settings, or ``None`` when no server is configured."""
    if not args.livekit_url:
        return None
    if not args.api_key or not args.api_secret:
        raise SystemExit("LIVEKIT_URL is set but LIVEKIT_API_KEY / LIVEKIT_API_SECRET are not")
    return LiveKitSettings(
        url=args.livekit_url,
        api_key=args.api_key,
        api_secret=args.api_secret,
        public_url=args.livekit_public_url,
    )
