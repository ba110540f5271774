"""Every setting of every command, in one typed place: name, default, check, help.

:class:`Settings` reads the environment (``.env`` is loaded into it by the
CLI): ``ROOMSCRIBE_<FIELD>`` for ours, ``LIVEKIT_URL``, ``LIVEKIT_API_KEY``,
``LIVEKIT_API_SECRET`` and ``LIVEKIT_PUBLIC_URL`` for LiveKit's. Each setting
is also a flag (``--<field>``, see :func:`flag_name`): :func:`add_settings`
declares it from the field itself (help, choices, the environment's value as
default), and :meth:`Settings.with_flags` checks the flags given by the same
model. A value that does not fit is a :class:`SettingsError` naming the
variable or flag and what it expects, which the CLI prints as one line (exit 2).

The options each component takes are built here from the settings, and only
here: :meth:`Settings.asr`, :meth:`~Settings.livekit`, :meth:`~Settings.record`,
:meth:`~Settings.access`, :meth:`~Settings.embedded`. A default lives with the
lowest module that needs it: the streaming core's options (``asr/``, below
this module) own theirs and settings read them; the transports' options
(:class:`AccessOptions`, :class:`EmbeddedOptions`, :class:`LiveKitSettings`)
are defined here, so ``server/`` and ``livekit/`` import them from below and
this module imports neither (nor FastAPI or aiortc). Nothing here reads the
environment at import time: :func:`load_settings` does, when the CLI calls it.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from roomscribe.asr.engine import EngineOptions
from roomscribe.asr.models import default_cache_dir
from roomscribe.asr.policy import PolicyOptions
from roomscribe.asr.revision import RevisionOptions
from roomscribe.asr.scheduler import RECORD_FIRST_OVERDUE_S, SchedulerOptions
from roomscribe.asr.whisper import WhisperOptions
from roomscribe.languages import UnknownLanguageError, parse_language
from roomscribe.store.writer import DEFAULT_RETENTION_S, RecordOptions

CHECKOUT = Path(__file__).resolve().parents[2]
"""The source checkout (``web-client/dist`` and ``bin/livekit-server`` live there)."""

Revisions = Literal["live-first", "record-first", "off"]
"""How the revision pass shares the model with the live captions."""

Origin = tuple[str, str, int]
"""``(scheme, host, port)``, lower case, the port made explicit."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_HOST_PATTERN = re.compile(r"^(\*\.)?[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$")
"""A name (``*.`` for its subdomains) or an IPv6 address in brackets, as ``Host`` has them."""
_NO_RATE_LIMIT = frozenset({"off", "0", "none"})
_SHOWN = 60
"""Longest value quoted back in a message."""
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _default(options: type[Any], name: str) -> Any:
    """The default of dataclass field ``name``: written once, with its options."""
    for f in dataclasses.fields(options):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            raise TypeError(f"{options.__name__}.{name} has no plain default")
    raise AttributeError(f"{options.__name__} has no field {name!r}")


# -- the transports' options (built by Settings, taken by server/ and livekit/) -----------


@dataclass(frozen=True, slots=True)
class LiveKitSettings:
    """The LiveKit server: where it is and the keys that sign its tokens.

    The defaults are ``livekit-server --dev`` on this machine (tests, benchmarks);
    the CLI builds this from :class:`Settings` (:meth:`Settings.livekit`)."""

    url: str = "ws://127.0.0.1:7880"
    api_key: str = "devkey"
    api_secret: str = "secret"
    public_url: str = ""
    """Where browsers reach the server, when not at ``url`` (which the agent and
    the token service use, e.g. a loopback or cluster-internal address)."""

    @property
    def browser_url(self) -> str:
        return self.public_url or self.url


@dataclass(frozen=True, slots=True)
class AccessOptions:
    """Access control of the token and offer endpoints (``roomscribe serve``)."""

    passcode: str = ""
    """Required in every request when set."""
    trust_proxy_header: str = ""
    """A header set by an authenticating proxy, e.g. ``X-Forwarded-User``; empty: none."""
    allow_open: bool = False
    """Serve a non-loopback address without passcode or proxy header, on purpose."""
    rate_limit: str | None = "600/minute"
    """Requests per client address, in ``limits`` notation (``600/minute``); ``None``: no
    limit. Generous: a whole office behind one NAT address joins when a meeting starts."""
    failed_attempt_limit: str | None = "10/minute"
    """Refused passcodes (or missing sign-on headers) per client address; past it, every
    request from that address waits (429), the right passcode too. ``None``: no limit."""
    trusted_proxies: tuple[str, ...] = ("127.0.0.0/8", "::1")
    """Peers (IPs or CIDRs, ``*``: anyone) whose ``X-Forwarded-For``/``-Proto`` and
    :attr:`trust_proxy_header` count."""
    allowed_hosts: tuple[str, ...] = ()
    """``Host`` names served besides this machine's own names and addresses
    (``meet.example.org``, ``*.example.org``; ``*``: any)."""
    allowed_origins: tuple[str, ...] = ()
    """Web origins besides the server's own that may call the API (``https://meet.example.org``)."""
    metrics_from: tuple[str, ...] = ("127.0.0.0/8", "::1")
    """Clients (IPs or CIDRs, ``*``: anyone) that may read ``/metrics``; others get 404.
    Behind a trusted proxy the client is the one it names."""

    @property
    def passcode_required(self) -> bool:
        return bool(self.passcode)

    @property
    def protected(self) -> bool:
        """Whether requests are authenticated at all (passcode or proxy header)."""
        return bool(self.passcode or self.trust_proxy_header)


@dataclass(frozen=True, slots=True)
class EmbeddedOptions:
    """Embedded mode (``roomscribe serve`` without LiveKit): the service and each session."""

    max_sessions: int = 4
    """Concurrent browser tabs; each also takes one engine stream per audio track."""
    max_sdp_bytes: int = 64 * 1024
    idle_timeout: float = 30.0
    """Seconds: a connected session that receives no audio this long is closed."""
    connect_timeout: float = 20.0
    """Seconds: a session whose peer connection does not come up in this time is closed."""
    ice_servers: tuple[str, ...] = ()
    """STUN/TURN URLs; none are needed when browser and server share a network."""
    channel_grace_s: float = 1.0
    """How long to wait for the client's own ``captions`` channel before opening one."""
    pending_captions: int = 64
    """Captions kept while the data channel is not open yet (oldest interims dropped first)."""
    max_buffered_bytes: int = 1 << 20
    """Above this much unsent data on the channel, interim captions are dropped."""
    finalize_timeout_s: float = 15.0
    drain_timeout_s: float = 2.0
    """How long the last captions may take to reach the peer before it is closed."""


def engine_options(
    *,
    language: str | None = None,
    revisions: Revisions = "live-first",
    max_streams: int = _default(EngineOptions, "max_streams"),
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


def origin_key(origin: str) -> Origin | None:
    """``https://Meet.example.org`` -> ``("https", "meet.example.org", 443)``, or ``None``."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if (
        parts.scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        return None
    return (parts.scheme, parts.hostname, port or _DEFAULT_PORTS[parts.scheme])


# -- value types -----------------------------------------------------------------------


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

GROUPS = {
    "asr": "speech recognition",
    "livekit": "LiveKit",
    "web": "web server",
    "https": "HTTPS",
    "access": "access control (POST /api/token and /api/offer)",
    "worker": "agent worker",
    "store": "transcript store",
    "dev": "roomscribe dev",
    "embedded": "embedded mode (direct WebRTC, no LiveKit)",
}
"""The flag groups of ``--help``; a command takes whole groups (:func:`add_settings`)."""


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    group: str,
    flag: str = "",
    metavar: str = "",
    repeat: bool = False,
    **checks: Any,
) -> Any:
    """A :class:`Settings` field with what its flag needs: ``help`` (the variable is
    appended), its ``group`` (a key of :data:`GROUPS`), a ``flag`` not spelled
    ``--<field-with-dashes>``, a ``metavar``, ``repeat`` (given once per value)."""
    if group not in GROUPS:
        raise KeyError(group)
    extra: dict[str, Any] = {"group": group, "flag": flag, "metavar": metavar, "repeat": repeat}
    if default is not dataclasses.MISSING:
        checks["default"] = default
    return Field(description=help, json_schema_extra=extra, **checks)


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
        # Only values given are checked: the defaults are ours (and test_config checks
        # them all); checking the rate limits' would import `limits` at every start.
        validate_default=False,
    )

    # -- LiveKit ---------------------------------------------------------------------
    livekit_url: str = setting(
        "",
        validation_alias="LIVEKIT_URL",
        group="livekit",
        help="LiveKit server URL; empty: serve runs in embedded mode",
    )
    livekit_public_url: str = setting(
        "",
        validation_alias="LIVEKIT_PUBLIC_URL",
        group="livekit",
        help="the LiveKit URL handed to browsers, if not --livekit-url",
    )
    api_key: str = setting(
        "",
        validation_alias="LIVEKIT_API_KEY",
        group="livekit",
        help="API key for tokens and agent registration",
    )
    api_secret: str = setting(
        "",
        validation_alias="LIVEKIT_API_SECRET",
        group="livekit",
        help="API secret of --api-key; prefer the environment",
    )

    # -- speech recognition ----------------------------------------------------------
    model: str = setting(
        _default(WhisperOptions, "model"),
        group="asr",
        help="base (multilingual, default), tiny.en (fastest), any faster-whisper name, "
        "or a local CTranslate2 directory",
    )
    language: str = setting("auto", group="asr", help="language code, or auto to detect per stream")
    task: Literal["transcribe", "translate"] = setting(
        _default(WhisperOptions, "task"),
        group="asr",
        help="translate: caption in English whatever is spoken",
    )
    device: Literal["auto", "cpu", "cuda"] = setting(
        _default(WhisperOptions, "device"), group="asr", help="where the model runs"
    )
    compute_type: str = setting(
        _default(WhisperOptions, "compute_type"),
        group="asr",
        help="auto: int8 on CPU, float16 on CUDA",
    )
    threads: int = setting(
        _default(WhisperOptions, "threads"),
        ge=0,
        group="asr",
        help="CPU threads for the model, 0 = all cores",
    )
    beam_size: int = setting(
        _default(WhisperOptions, "beam_size"),
        ge=1,
        group="asr",
        help="beam width of final decodes",
    )
    max_streams: int = setting(
        _default(EngineOptions, "max_streams"),
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

    # -- web server (serve, dev) -----------------------------------------------------
    host: str = setting("127.0.0.1", group="web", help="address the web server listens on")
    port: Port = setting(8000, group="web", help="port of the web server")
    web_dir: UserPath = setting(
        CHECKOUT / "web-client" / "dist", group="web", help="the built web client"
    )
    tls_cert: UserPath | None = setting(
        None, group="https", help="PEM certificate (chain): serve HTTPS"
    )
    tls_key: UserPath | None = setting(None, group="https", help="PEM private key of --tls-cert")

    # -- access control (serve) ------------------------------------------------------
    passcode: str = setting(
        _default(AccessOptions, "passcode"),
        group="access",
        help="required in every token and offer request; prefer the environment, "
        "a command line is visible to every user of the machine",
    )
    trust_proxy_header: str = setting(
        _default(AccessOptions, "trust_proxy_header"),
        group="access",
        metavar="NAME",
        help="behind a sign-on proxy: the header naming the signed-in user (e.g. "
        "X-Forwarded-User) is the display name, and requests without it are refused; "
        "believed only from --trusted-proxies",
    )
    trusted_proxies: CommaList = setting(
        _default(AccessOptions, "trusted_proxies"),
        group="access",
        help="comma-separated proxy addresses or networks whose X-Forwarded-For, "
        "X-Forwarded-Proto and --trust-proxy-header count (default: this machine)",
    )
    metrics_from: CommaList = setting(
        _default(AccessOptions, "metrics_from"),
        group="access",
        help="comma-separated client addresses or networks that may read /metrics "
        "(default: this machine; '*': anyone)",
    )
    allow_open: bool = setting(
        _default(AccessOptions, "allow_open"),
        group="access",
        help="serve a non-loopback address without passcode or proxy header: anyone "
        "who reaches it may join any room",
    )
    rate_limit: str = setting(
        _default(AccessOptions, "rate_limit"),
        group="access",
        help=f"token/offer requests per client address, e.g. "
        f"{_default(AccessOptions, 'rate_limit')} or 1000/hour; off: no limit",
    )
    failed_attempt_limit: str = setting(
        _default(AccessOptions, "failed_attempt_limit"),
        group="access",
        help="refused passcodes per client address before it must wait, e.g. "
        f"{_default(AccessOptions, 'failed_attempt_limit')}; off: no limit",
    )
    allowed_hosts: CommaList = setting(
        _default(AccessOptions, "allowed_hosts"),
        group="access",
        help="comma-separated Host names served besides this machine's names and "
        "addresses, e.g. meet.example.org (the name behind a proxy too); * for any",
    )
    allowed_origins: CommaList = setting(
        _default(AccessOptions, "allowed_origins"),
        group="access",
        help="comma-separated web origins besides the server's own that may call the "
        "API, e.g. https://meet.example.org",
    )

    # -- agent worker ----------------------------------------------------------------
    health_host: str = setting(
        "127.0.0.1",
        group="worker",
        help="address of the health/metrics endpoint; 0.0.0.0 for a scraper on another host",
    )
    """This machine only, unless set."""
    health_port: Port = setting(
        8081, group="worker", help="port of the worker's HTTP health check, 0 = any free port"
    )
    e2ee_key: str = setting(
        "",
        group="worker",
        help="the shared key of end-to-end encrypted rooms (prefer the variable: command "
        "lines are visible to every user of the machine)",
    )
    """The shared key of end-to-end encrypted rooms (empty: rooms are not encrypted);
    see :mod:`roomscribe.livekit.encryption`."""
    test_fault: Literal["", "die", "hang"] = setting(
        "",
        group="worker",
        help="tests only: SIGUSR1 makes the engine die or hang at its next decode",
    )
    """See :mod:`roomscribe.asr.fault`."""

    # -- transcript store (agent, serve, transcripts) ---------------------------------
    store: str = setting(
        "sqlite",
        group="store",
        help="sqlite: in --data-dir; redis://host:port/db: in that Redis; off: memory only",
    )
    """``sqlite`` (in :attr:`data_dir`), a Redis URL (``redis://host:port/db``,
    ``rediss://``: shared by every machine) or ``off`` (each captioner's memory only)."""
    data_dir: UserPath = setting(
        default_factory=default_data_dir,
        group="store",
        help="where the SQLite transcript store lives",
    )
    retention: Duration = setting(
        DEFAULT_RETENTION_S,
        group="store",
        help="transcripts older than this are deleted, e.g. 24h, 7d",
    )

    # -- dev -------------------------------------------------------------------------
    livekit_server: UserPath = setting(
        CHECKOUT / "bin" / "livekit-server", group="dev", help="livekit-server binary"
    )

    # -- embedded mode ---------------------------------------------------------------
    max_sessions: int = setting(
        _default(EmbeddedOptions, "max_sessions"),
        ge=1,
        group="embedded",
        help="concurrent browser tabs",
    )
    idle_timeout: float = setting(
        _default(EmbeddedOptions, "idle_timeout"),
        gt=0,
        group="embedded",
        help="close a session after this many seconds without audio",
    )
    connect_timeout: float = setting(
        _default(EmbeddedOptions, "connect_timeout"),
        gt=0,
        group="embedded",
        help="seconds a new peer has to connect",
    )
    max_sdp_bytes: int = setting(
        _default(EmbeddedOptions, "max_sdp_bytes"),
        ge=1024,
        group="embedded",
        help="largest accepted SDP offer",
    )
    ice_servers: CommaList = setting(
        _default(EmbeddedOptions, "ice_servers"),
        group="embedded",
        flag="--ice-server",
        repeat=True,
        help="STUN/TURN URL, repeatable; default none (the variable: comma-separated)",
    )

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
        value = value.strip()
        if value.lower().startswith(("redis://", "rediss://")):
            return value  # the URL keeps its case (a password)
        if value.lower() not in ("sqlite", "off"):
            raise PydanticCustomError("store", "expected sqlite, redis://host:port/db or off")
        return value.lower()

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
        import limits  # only when one is set: its import costs a third of a second

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

    @field_validator("trusted_proxies", "metrics_from")
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

    # -- the components' options: built here and nowhere else -------------------------

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
        redis_url = "" if self.store == "sqlite" else self.store
        return RecordOptions(self.data_dir, redis_url=redis_url, retention_s=self.retention)

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
            metrics_from=self.metrics_from,
            allowed_hosts=self.allowed_hosts,
            allowed_origins=self.allowed_origins,
        )

    def embedded(self) -> EmbeddedOptions:
        """Embedded mode: the service's and each session's limits."""
        return EmbeddedOptions(
            max_sessions=self.max_sessions,
            max_sdp_bytes=self.max_sdp_bytes,
            idle_timeout=self.idle_timeout,
            connect_timeout=self.connect_timeout,
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
    return _extra(field)["flag"] or "--" + field.replace("_", "-")


def add_settings(parser: argparse.ArgumentParser, defaults: Settings, *names: str) -> None:
    """Declare the flags of settings ``names``: each a group of :data:`GROUPS` (all its
    settings, under its title in ``--help``) or one field.

    A flag's default is ``defaults``' value and its help the field's, with its
    variable; a ``Literal`` gets its values as ``choices``, a ``bool`` is a switch.
    Values are checked afterwards, by :meth:`Settings.with_flags`, so no ``type``.
    """
    for name in names:
        if name in GROUPS:
            group = parser.add_argument_group(GROUPS[name])
            for field_name in Settings.model_fields:
                if _extra(field_name)["group"] == name:
                    _add_flag(group, defaults, field_name)
        else:
            _add_flag(parser, defaults, name)


def _add_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, defaults: Settings, field: str
) -> None:
    info = Settings.model_fields[field]
    extra = _extra(field)
    kwargs: dict[str, Any] = {}
    if typing.get_origin(info.annotation) is Literal:
        kwargs["choices"] = typing.get_args(info.annotation)
    if info.annotation is bool:
        kwargs["action"] = "store_true"
    if extra["metavar"]:
        kwargs["metavar"] = extra["metavar"]
    if extra["repeat"]:
        kwargs["action"] = "append"  # given: replaces the variable's list
    parser.add_argument(
        flag_name(field),
        dest=field,
        default=None if extra["repeat"] else getattr(defaults, field),
        help=f"{info.description} [{env_name(field)}]".lstrip(),
        **kwargs,
    )


def _extra(field: str) -> dict[str, Any]:
    extra = Settings.model_fields[field].json_schema_extra
    assert isinstance(extra, dict), field  # every field is declared with setting()
    return extra


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
