"""Every setting of every command, in one typed place: names, defaults, checks.

:class:`Settings` reads the environment (``.env`` is loaded into it by the
CLI): ``ROOMSCRIBE_<FIELD>`` for ours, ``LIVEKIT_URL``, ``LIVEKIT_API_KEY``,
``LIVEKIT_API_SECRET`` and ``LIVEKIT_PUBLIC_URL`` for LiveKit's. Each setting
is also a flag (``--<field>``, see :func:`flag_name`) declared with
:func:`add_setting`, whose default is the environment's value; the values of
the flags given are then checked by the same model (:meth:`Settings.with_flags`).
A value that does not fit is a :class:`SettingsError` naming the variable or
flag and what it expects, which the CLI prints as one line (exit 2).

Where a component's options dataclass has the same setting, the default is
read from that dataclass, so no default is written twice. Nothing here reads
the environment at import time: :func:`load_settings` does, when the CLI
calls it.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import limits
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from roomscribe.asr.models import default_cache_dir
from roomscribe.asr.whisper import WhisperOptions
from roomscribe.languages import UnknownLanguageError, parse_language
from roomscribe.server.options import AccessOptions, EmbeddedOptions, origin_key
from roomscribe.settings import AsrSettings, LiveKitSettings, Revisions
from roomscribe.store.writer import DEFAULT_RETENTION_S, RecordOptions

CHECKOUT = Path(__file__).resolve().parents[2]
"""The source checkout (``web-client/dist`` and ``bin/livekit-server`` live there)."""

_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_HOST_PATTERN = re.compile(r"^(\*\.)?[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$")
"""A name (``*.`` for its subdomains) or an IPv6 address in brackets, as ``Host`` has them."""
_NO_RATE_LIMIT = frozenset({"off", "0", "none"})
_FLAGS = {"ice_servers": "--ice-server"}
"""Flags not spelled ``--<field-with-dashes>``."""
_SHOWN = 60
"""Longest value quoted back in a message."""
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _default(options: type[Any], name: str) -> Any:
    """The default of dataclass field ``name``: the component owns it, settings reuse it."""
    for f in dataclasses.fields(options):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            raise TypeError(f"{options.__name__}.{name} has no plain default")
    raise AttributeError(f"{options.__name__} has no field {name!r}")


def _comma_list(value: object) -> object:
    """``"a, b,,c"`` -> ``("a", "b", "c")``; lists (repeated flags) pass through."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _expand(path: Path) -> Path:
    return path.expanduser()


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/roomscribe`` (``~/.local/share/roomscribe``)."""
    root = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(root) / "roomscribe"


def _duration(value: object) -> object:
    """``"24h"``, ``"90m"``, ``"7d"``, ``"3600"`` (seconds) -> seconds."""
    if isinstance(value, str):
        found = _DURATION.fullmatch(value)
        if found is None:
            raise PydanticCustomError("duration", "expected a duration like 24h, 90m, 7d or 3600")
        return float(found.group(1)) * _UNIT_S[found.group(2).lower()]
    return value


Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
"""Seconds; in the environment also ``24h``, ``90m``, ``7d``."""


CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]
"""Comma-separated in the environment (not JSON, pydantic-settings' default)."""
UserPath = Annotated[Path, AfterValidator(_expand)]
Port = Annotated[int, Field(ge=0, le=65535)]


class Settings(BaseSettings):
    """The settings of every ``roomscribe`` command (one instance per process).

    Field ``max_streams`` is ``ROOMSCRIBE_MAX_STREAMS`` and ``--max-streams``;
    the LiveKit fields keep LiveKit's own variable names (their aliases).
    """

    model_config = SettingsConfigDict(
        env_prefix="ROOMSCRIBE_",
        env_ignore_empty=True,  # `NAME=` in .env means the default, as in .env.example
        extra="ignore",  # ROOMSCRIBE_EVAL_DIR, docker's ROOMSCRIBE_DOMAIN, ... are not ours
        frozen=True,
    )

    # -- LiveKit ---------------------------------------------------------------------
    livekit_url: str = Field(default="", validation_alias="LIVEKIT_URL")
    """Empty: no LiveKit server (``serve`` runs in embedded mode)."""
    livekit_public_url: str = Field(default="", validation_alias="LIVEKIT_PUBLIC_URL")
    api_key: str = Field(default="", validation_alias="LIVEKIT_API_KEY")
    api_secret: str = Field(default="", validation_alias="LIVEKIT_API_SECRET")

    # -- speech recognition ----------------------------------------------------------
    model: str = _default(WhisperOptions, "model")
    language: str = "auto"
    """A Whisper language code, or ``auto``: detect it per stream."""
    task: Literal["transcribe", "translate"] = _default(WhisperOptions, "task")
    device: Literal["auto", "cpu", "cuda"] = _default(WhisperOptions, "device")
    compute_type: str = _default(WhisperOptions, "compute_type")
    threads: int = Field(default=_default(WhisperOptions, "threads"), ge=0)
    beam_size: int = Field(default=_default(WhisperOptions, "beam_size"), ge=1)
    max_streams: int = Field(default=_default(AsrSettings, "max_streams"), ge=1)
    revisions: Revisions = _default(AsrSettings, "revisions")
    cache_dir: UserPath = Field(default_factory=default_cache_dir)

    # -- web server (serve, dev) -----------------------------------------------------
    host: str = "127.0.0.1"
    port: Port = 8000
    web_dir: UserPath = CHECKOUT / "web-client" / "dist"
    tls_cert: UserPath | None = None
    tls_key: UserPath | None = None

    # -- access control (serve) ------------------------------------------------------
    passcode: str = _default(AccessOptions, "passcode")
    trust_proxy_header: str = _default(AccessOptions, "trust_proxy_header")
    allow_open: bool = _default(AccessOptions, "allow_open")
    rate_limit: str = _default(AccessOptions, "rate_limit")
    """In ``limits`` notation (``600/minute``), or ``off``."""
    failed_attempt_limit: str = _default(AccessOptions, "failed_attempt_limit")
    """In ``limits`` notation (``10/minute``), or ``off``."""
    allowed_origins: CommaList = _default(AccessOptions, "allowed_origins")
    trusted_proxies: CommaList = _default(AccessOptions, "trusted_proxies")
    allowed_hosts: CommaList = _default(AccessOptions, "allowed_hosts")

    # -- agent worker ----------------------------------------------------------------
    health_host: str = "127.0.0.1"
    """Where the worker's health and metrics endpoint listens: this machine only, unless set."""
    health_port: Port = 8081
    e2ee_key: str = ""
    """The shared key of end-to-end encrypted rooms (empty: rooms are not encrypted);
    see :mod:`roomscribe.livekit.encryption`."""
    test_fault: Literal["", "die", "hang"] = ""
    """Test only: on ``SIGUSR1`` the engine's next decode kills its thread (``die``)
    or never returns (``hang``); see :mod:`roomscribe.asr.fault`."""

    # -- transcript store (agent, serve, transcripts) ---------------------------------
    store: str = "sqlite"
    """``sqlite`` (in :attr:`data_dir`) or ``off`` (each captioner's memory only)."""
    data_dir: UserPath = Field(default_factory=default_data_dir)
    retention: Duration = DEFAULT_RETENTION_S

    # -- dev -------------------------------------------------------------------------
    livekit_server: UserPath = CHECKOUT / "bin" / "livekit-server"

    # -- embedded mode ---------------------------------------------------------------
    max_sessions: int = Field(default=_default(EmbeddedOptions, "max_sessions"), ge=1)
    max_sdp_bytes: int = Field(default=_default(EmbeddedOptions, "max_sdp_bytes"), ge=1024)
    idle_timeout: float = Field(default=_default(EmbeddedOptions, "idle_timeout_s"), gt=0)
    connect_timeout: float = Field(default=_default(EmbeddedOptions, "connect_timeout_s"), gt=0)
    ice_servers: CommaList = _default(EmbeddedOptions, "ice_servers")

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        try:
            parse_language(value)
        except UnknownLanguageError as exc:
            raise PydanticCustomError("language", str(exc)) from None
        return value

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        value = value.strip().lower()
        if value.startswith(("redis://", "rediss://")):
            raise PydanticCustomError(
                "store", "a Redis store is not supported yet: use sqlite (one machine) or off"
            )
        if value not in ("sqlite", "off"):
            raise PydanticCustomError("store", "expected sqlite or off")
        return value

    @field_validator("trust_proxy_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        value = value.strip()
        if value and not _HEADER_NAME.fullmatch(value):
            raise PydanticCustomError(
                "header", "expected an HTTP header name like X-Forwarded-User"
            )
        return value

    @field_validator("rate_limit", "failed_attempt_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        value = value.strip()
        if value.lower() in _NO_RATE_LIMIT:
            return "off"
        try:
            limits.parse(value)
        except ValueError:
            raise PydanticCustomError(
                "rate", "expected a rate like 20/minute or 100/hour, or off"
            ) from None
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin_key(origin) is None:
                raise PydanticCustomError(
                    "origin",
                    "{origin} is not an origin like https://meet.example.org",
                    {"origin": repr(origin[:_SHOWN])},
                )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in value:
            try:
                if proxy != "*":
                    ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise PydanticCustomError(
                    "proxy",
                    "{proxy} is not an IP address or network like 10.0.0.5 or 10.0.0.0/24",
                    {"proxy": repr(proxy[:_SHOWN])},
                ) from None
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if host != "*" and not _HOST_PATTERN.fullmatch(host):
                raise PydanticCustomError(
                    "host",
                    "{host} is not a host name like meet.example.org or *.example.org",
                    {"host": repr(host[:_SHOWN])},
                )
        return value

    # -- flags -----------------------------------------------------------------------

    def with_flags(self, values: Mapping[str, object]) -> Settings:
        """These settings with the flags' values (``vars(args)``) in place, checked.

        A ``None`` value is a flag not given (``--ice-server``'s default).
        """
        fields = type(self).model_fields
        given = {
            name: value
            for name, value in values.items()
            if name in fields and value is not None and value != getattr(self, name)
        }
        if not given:
            return self
        data = self.model_dump()
        data.update(given)
        try:
            # Every field given by name: the environment, already checked, plays no part.
            return type(self)(**{_key(name): value for name, value in data.items()})
        except ValidationError as exc:
            raise SettingsError.from_validation(exc, flags=True) from None

    # -- the components' options -----------------------------------------------------

    def asr(self) -> AsrSettings:
        """The recognition engine's settings."""
        whisper = dataclasses.replace(
            WhisperOptions(),
            model=self.model,
            device=self.device,
            compute_type=self.compute_type,
            threads=self.threads,
            task=self.task,
            beam_size=self.beam_size,
        )
        return AsrSettings(
            whisper=whisper,
            language=parse_language(self.language),
            max_streams=self.max_streams,
            cache_dir=self.cache_dir,
            revisions=self.revisions,
        )

    def livekit(self) -> LiveKitSettings | None:
        """The LiveKit server, or ``None`` when none is configured."""
        if not self.livekit_url:
            return None
        if not self.api_key or not self.api_secret:
            raise SettingsError(
                "LIVEKIT_URL is set but LIVEKIT_API_KEY / LIVEKIT_API_SECRET are not"
            )
        return LiveKitSettings(
            url=self.livekit_url,
            api_key=self.api_key,
            api_secret=self.api_secret,
            public_url=self.livekit_public_url,
        )

    def record(self) -> RecordOptions | None:
        """The transcript store, or ``None`` when it is off."""
        if self.store == "off":
            return None
        return RecordOptions(data_dir=self.data_dir, retention_s=self.retention)

    def access(self) -> AccessOptions:
        """Access control of ``serve``'s token and offer endpoints."""
        return AccessOptions(
            passcode=self.passcode,
            trust_proxy_header=self.trust_proxy_header,
            allow_open=self.allow_open,
            rate_limit=None if self.rate_limit == "off" else self.rate_limit,
            failed_attempt_limit=(
                None if self.failed_attempt_limit == "off" else self.failed_attempt_limit
            ),
            trusted_proxies=self.trusted_proxies,
            allowed_hosts=self.allowed_hosts,
            allowed_origins=self.allowed_origins,
        )

    def embedded(self) -> EmbeddedOptions:
        """Limits of embedded mode."""
        return EmbeddedOptions(
            max_sessions=self.max_sessions,
            max_sdp_bytes=self.max_sdp_bytes,
            idle_timeout_s=self.idle_timeout,
            connect_timeout_s=self.connect_timeout,
            ice_servers=self.ice_servers,
        )


class SettingsError(ValueError):
    """A setting with a value that does not fit; the message is for the user."""

    @classmethod
    def from_validation(cls, exc: ValidationError, *, flags: bool = False) -> SettingsError:
        """One line per bad value: ``invalid setting NAME='value': expected ...``.

        ``flags``: the values came from flags (name those), not the environment.
        """
        lines = []
        for error in exc.errors():
            name = _field_of(error["loc"])
            where = flag_name(name) if flags else env_name(name)
            shown = repr(str(error["input"])[:_SHOWN])
            lines.append(f"invalid setting {where}={shown}: {_expected(error)}")
        return cls("\n".join(lines))


def load_settings() -> Settings:
    """The settings from the environment; a :class:`SettingsError` names each bad value."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError.from_validation(exc) from None


def env_name(field: str) -> str:
    """``max_streams`` -> ``ROOMSCRIBE_MAX_STREAMS``; ``livekit_url`` -> ``LIVEKIT_URL``."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, str):
        return alias
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


def flag_name(field: str) -> str:
    """``max_streams`` -> ``--max-streams`` (``ice_servers`` -> ``--ice-server``)."""
    if field not in Settings.model_fields:
        raise KeyError(field)
    return _FLAGS.get(field, "--" + field.replace("_", "-"))


def add_setting(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    defaults: Settings,
    field: str,
    *,
    help: str,
    **kwargs: Any,
) -> None:
    """Declare the flag of setting ``field``: default from ``defaults``, its variable in help.

    A ``Literal`` setting gets its values as ``choices``. Values are checked
    afterwards, by :meth:`Settings.with_flags`, so no ``type`` is needed.
    """
    annotation = Settings.model_fields[field].annotation
    if typing.get_origin(annotation) is Literal:
        kwargs.setdefault("choices", typing.get_args(annotation))
    default = None if kwargs.get("action") == "append" else getattr(defaults, field)
    parser.add_argument(
        flag_name(field),
        dest=field,
        default=default,
        help=f"{help} [{env_name(field)}]".lstrip(),
        **kwargs,
    )


def add_asr_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    """The speech recognition flags (``transcribe``, ``bench``, ``agent``, ``serve``)."""
    g = parser.add_argument_group("speech recognition")
    add_setting(
        g,
        defaults,
        "model",
        help="base (multilingual, default), tiny.en (fastest), any faster-whisper name, "
        "or a local CTranslate2 directory",
    )
    add_setting(g, defaults, "language", help="language code, or auto to detect per stream")
    add_setting(g, defaults, "task", help="translate: caption in English whatever is spoken")
    add_setting(g, defaults, "device", help="")
    add_setting(g, defaults, "compute_type", help="auto: int8 on CPU, float16 on CUDA")
    add_setting(g, defaults, "threads", help="CPU threads for the model, 0 = all cores")
    add_setting(g, defaults, "beam_size", help="beam width of final decodes")
    add_setting(g, defaults, "max_streams", help="concurrent audio streams one process accepts")
    add_setting(
        g,
        defaults,
        "revisions",
        help="the revision pass: live-first (spare time only), record-first (before a "
        "talker's own live finals when overdue) or off",
    )
    add_setting(g, defaults, "cache_dir", help="where the bundled base model is assembled")


def add_livekit_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    """The LiveKit server flags (``agent``, ``serve``)."""
    g = parser.add_argument_group("LiveKit")
    add_setting(g, defaults, "livekit_url", help="")
    add_setting(
        g,
        defaults,
        "livekit_public_url",
        help="the LiveKit URL handed to browsers, if not --livekit-url",
    )
    add_setting(g, defaults, "api_key", help="")
    add_setting(g, defaults, "api_secret", help="")


def add_store_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    """The transcript store flags (``agent``, ``serve``, ``transcripts``)."""
    g = parser.add_argument_group("transcript store")
    add_setting(
        g, defaults, "store", help="sqlite: keep transcripts in --data-dir; off: memory only"
    )
    add_setting(g, defaults, "data_dir", help="where the transcript store lives")
    add_setting(
        g, defaults, "retention", help="transcripts older than this are deleted, e.g. 24h, 7d"
    )


def _key(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else field


def _field_of(loc: tuple[int | str, ...]) -> str:
    first = str(loc[0]) if loc else ""
    for name, info in Settings.model_fields.items():
        if first in (name, info.validation_alias):
            return name
    return first


def _expected(error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind in ("int_parsing", "int_from_float"):
        return "expected an integer"
    if kind == "float_parsing":
        return "expected a number"
    if kind == "bool_parsing":
        return "expected 1 or 0 (or true/false, yes/no, on/off)"
    if kind == "greater_than_equal":
        return f"expected at least {ctx['ge']:g}"
    if kind == "greater_than":
        return f"expected more than {ctx['gt']:g}"
    if kind == "less_than_equal":
        return f"expected at most {ctx['le']:g}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}"
    return str(error["msg"])
