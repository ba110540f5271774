"""The engine's and the LiveKit server's settings, as the components take them.

The CLI builds them from :class:`roomscribe.config.Settings` (flags,
environment and ``.env``); nothing here reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from roomscribe.asr.engine import EngineOptions
from roomscribe.asr.models import default_cache_dir
from roomscribe.asr.policy import PolicyOptions
from roomscribe.asr.revision import RevisionOptions
from roomscribe.asr.scheduler import RECORD_FIRST_OVERDUE_S, SchedulerOptions
from roomscribe.asr.whisper import WhisperOptions

Revisions = Literal["live-first", "record-first", "off"]
"""How the revision pass shares the model with the live captions."""


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
    revisions: Revisions = "live-first"
    """``live-first``: revisions use only the time live captions leave;
    ``record-first``: a talker's overdue revision may also delay its own live
    finals (:attr:`SchedulerOptions.late_revision_overdue_s`); ``off``: no
    revision pass (live finals are the transcript)."""

    def engine_options(self) -> EngineOptions:
        late = RECORD_FIRST_OVERDUE_S if self.revisions == "record-first" else 0.0
        return EngineOptions(
            max_streams=self.max_streams,
            # a live stream that closes frees its slot at once (no last revision)
            policy=PolicyOptions(
                language=self.language,
                revision=RevisionOptions(enabled=self.revisions != "off", revise_at_close=False),
            ),
            scheduler=SchedulerOptions(max_batch=self.max_batch, late_revision_overdue_s=late),
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
