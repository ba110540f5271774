"""Speech recognition: the model, the shared engine and its revision pass.

The streaming core's options (``asr/``, below this package) own their
defaults; these settings read them and build :class:`AsrOptions`, what
:func:`roomscribe.runtime.build_engine` takes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, field_validator
from pydantic_core import PydanticCustomError

from roomscribe.asr.engine import EngineOptions
from roomscribe.asr.models import default_cache_dir
from roomscribe.asr.policy import PolicyOptions
from roomscribe.asr.revision import RevisionOptions
from roomscribe.asr.scheduler import RECORD_FIRST_OVERDUE_S, SchedulerOptions
from roomscribe.asr.whisper import WhisperOptions
from roomscribe.languages import UnknownLanguageError, parse_language
from roomscribe.settings.fields import UserPath, default_of, setting

Revisions = Literal["live-first", "record-first", "off"]
"""How the revision pass shares the model with the live captions."""


def engine_options(
    *,
    language: str | None = None,
    revisions: Revisions = "live-first",
    max_streams: int = default_of(EngineOptions, "max_streams"),
) -> EngineOptions:
    """The shared engine's options for live streams.

    ``language``: a code, or ``None`` to detect it per stream. A live stream that
    closes frees its slot at once (no last revision); ``record-first`` lets a
    talker's overdue revision delay their own live finals
    (:attr:`SchedulerOptions.late_revision_overdue_s`); ``off``: no revision pass.
    """
    late = RECORD_FIRST_OVERDUE_S if revisions == "record-first" else 0.0
    return EngineOptions(
        max_streams=max_streams,
        policy=PolicyOptions(
            language=language,
            revision=RevisionOptions(enabled=revisions != "off", revise_at_close=False),
        ),
        scheduler=SchedulerOptions(late_revision_overdue_s=late),
    )


@dataclass(frozen=True, slots=True)
class AsrOptions:
    """The shared recognition engine: :func:`roomscribe.runtime.build_engine` takes these."""

    whisper: WhisperOptions = field(default_factory=WhisperOptions)
    engine: EngineOptions = field(default_factory=engine_options)
    cache_dir: Path = field(default_factory=default_cache_dir)
    """Where the bundled base model is assembled."""


class AsrFields(BaseModel):
    """The speech recognition settings: a part of :class:`~roomscribe.settings.Settings`."""

    model: str = setting(
        default_of(WhisperOptions, "model"),
        group="asr",
        help="base (multilingual, default), tiny.en (fastest), any faster-whisper name, "
        "or a local CTranslate2 directory",
    )
    language: str = setting("auto", group="asr", help="language code, or auto to detect per stream")
    task: Literal["transcribe", "translate"] = setting(
        default_of(WhisperOptions, "task"),
        group="asr",
        help="translate: caption in English whatever is spoken",
    )
    device: Literal["auto", "cpu", "cuda"] = setting(
        default_of(WhisperOptions, "device"), group="asr", help="where the model runs"
    )
    compute_type: str = setting(
        default_of(WhisperOptions, "compute_type"),
        group="asr",
        help="auto: int8 on CPU, float16 on CUDA",
    )
    threads: int = setting(
        default_of(WhisperOptions, "threads"),
        ge=0,
        group="asr",
        help="CPU threads for the model, 0 = all cores",
    )
    beam_size: int = setting(
        default_of(WhisperOptions, "beam_size"),
        ge=1,
        group="asr",
        help="beam width of final decodes",
    )
    max_streams: int = setting(
        default_of(EngineOptions, "max_streams"),
        ge=1,
        group="asr",
        help="concurrent audio streams one process accepts",
    )
    revisions: Revisions = setting(
        "live-first",
        group="asr",
        help="the revision pass: live-first (spare time only), record-first (before a "
        "talker's own live finals when overdue) or off",
    )
    cache_dir: UserPath = setting(
        default_factory=default_cache_dir,
        group="asr",
        help="where the bundled base model is assembled",
    )

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        try:
            parse_language(value)
        except UnknownLanguageError as exc:
            raise PydanticCustomError("language", str(exc)) from None
        return value

    def asr(self) -> AsrOptions:
        """The shared recognition engine's options."""
        whisper = dataclasses.replace(
            WhisperOptions(),
            model=self.model,
            device=self.device,
            compute_type=self.compute_type,
            threads=self.threads,
            task=self.task,
            beam_size=self.beam_size,
        )
        engine = engine_options(
            language=parse_language(self.language),
            revisions=self.revisions,
            max_streams=self.max_streams,
        )
        return AsrOptions(whisper=whisper, engine=engine, cache_dir=self.cache_dir)
