"""The engine's and the LiveKit server's settings, as the components take them.

The CLI builds them from :class:`roomscribe.config.Settings` (flags,
environment and ``.env``); nothing here reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
