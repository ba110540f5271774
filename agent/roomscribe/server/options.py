"""Options of the server: access control and embedded mode, free of the web stack.

:mod:`roomscribe.config` builds these from settings for every command, so this
module imports neither FastAPI nor aiortc: ``roomscribe transcribe`` and
``bench`` start without them. :mod:`roomscribe.server.security` enforces
:class:`AccessOptions`; :mod:`roomscribe.server.embedded` and
:mod:`roomscribe.server.embedded_session` use :class:`EmbeddedOptions` and
:class:`SessionLimits`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_RATE_LIMIT = "600/minute"
DEFAULT_FAILED_ATTEMPT_LIMIT = "10/minute"
LOOPBACK_PROXIES = ("127.0.0.0/8", "::1")

_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]
"""``(scheme, host, port)``, lower case, the port made explicit."""


@dataclass(frozen=True, slots=True)
class AccessOptions:
    """Access control of the token and offer endpoints (flags of ``roomscribe serve``)."""

    passcode: str = ""
    """Required in every request when set."""
    trust_proxy_header: str = ""
    """A header set by an authenticating proxy, e.g. ``X-Forwarded-User``; empty: none."""
    allow_open: bool = False
    """Serve a non-loopback address without passcode or proxy header, on purpose."""
    rate_limit: str | None = DEFAULT_RATE_LIMIT
    """Requests per client address, in ``limits`` notation (``600/minute``); ``None``: no
    limit. Generous: a whole office behind one NAT address joins when a meeting starts."""
    failed_attempt_limit: str | None = DEFAULT_FAILED_ATTEMPT_LIMIT
    """Refused passcodes (or missing sign-on headers) per client address; past it, every
    request from that address waits (429), the right passcode too. ``None``: no limit."""
    trusted_proxies: tuple[str, ...] = LOOPBACK_PROXIES
    """Peers (IPs or CIDRs, ``*``: anyone) whose ``X-Forwarded-For``/``-Proto`` and
    :attr:`trust_proxy_header` count."""
    allowed_hosts: tuple[str, ...] = ()
    """``Host`` names served besides this machine's own names and addresses
    (``meet.example.org``, ``*.example.org``; ``*``: any)."""
    allowed_origins: tuple[str, ...] = field(default=())
    """Web origins besides the server's own that may call the API (``https://meet.example.org``)."""

    @property
    def passcode_required(self) -> bool:
        return bool(self.passcode)

    @property
    def protected(self) -> bool:
        """Whether requests are authenticated at all (passcode or proxy header)."""
        return bool(self.passcode or self.trust_proxy_header)


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` or ``::1``: only this machine can connect."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def trusts_everyone(proxies: tuple[str, ...]) -> bool:
    """Whether ``proxies`` (IPs or CIDRs) take any address: ``*``, ``0.0.0.0/0``, ``::/0``."""
    for proxy in proxies:
        if proxy == "*":
            return True
        try:
            if ipaddress.ip_network(proxy, strict=False).prefixlen == 0:
                return True
        except ValueError:
            continue
    return False


def exposure_refusal(host: str, options: AccessOptions) -> str | None:
    """Why ``serve`` must not listen on ``host`` with ``options``; ``None`` if it may."""
    if is_loopback(host):
        return None
    if trusts_everyone(options.trusted_proxies):
        # Anyone could claim an address (the limits), HTTPS, or, with
        # trust_proxy_header, any name.
        header = options.trust_proxy_header or "X-Forwarded-For"
        return (
            f"refusing to listen on {host} trusting the {header} header from every "
            "address: anyone could claim to be anyone. List your proxy's addresses in "
            "ROOMSCRIBE_TRUSTED_PROXIES (default 127.0.0.0/8,::1)."
        )
    if options.protected or options.allow_open:
        return None
    return (
        f"refusing to listen on {host} without access control: anyone who can reach it "
        "could join any room and take every caption session. Either set a passcode "
        "(ROOMSCRIBE_PASSCODE=... or --passcode), or run behind your sign-on proxy and "
        "trust the header it sets (--trust-proxy-header X-Forwarded-User), or, to serve "
        "everyone on purpose, pass --allow-open (ROOMSCRIBE_ALLOW_OPEN=1)."
    )


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


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Per-session knobs, taken from :class:`EmbeddedOptions`."""

    connect_timeout_s: float = 20.0
    idle_timeout_s: float = 30.0
    channel_grace_s: float = 1.0
    """How long to wait for the client's own ``captions`` channel before opening one."""
    pending_captions: int = 64
    """Captions kept while the data channel is not open yet (oldest interims dropped first)."""
    max_buffered_bytes: int = 1 << 20
    """Above this much unsent data on the channel, interim captions are dropped."""
    finalize_timeout_s: float = 15.0
    drain_timeout_s: float = 2.0
    """How long the last captions may take to reach the peer before it is closed."""
    ice_servers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EmbeddedOptions:
    """Limits of embedded mode (settings of ``roomscribe serve --embedded``)."""

    max_sessions: int = 4
    """Concurrent browser tabs; each also takes one engine stream per audio track."""
    max_sdp_bytes: int = 64 * 1024
    idle_timeout_s: float = 30.0
    """A connected session that receives no audio for this long is closed."""
    connect_timeout_s: float = 20.0
    """A session whose peer connection does not come up within this time is closed."""
    ice_servers: tuple[str, ...] = ()
    """STUN/TURN URLs; none are needed when browser and server share a network."""

    def session_limits(self) -> SessionLimits:
        return SessionLimits(
            connect_timeout_s=self.connect_timeout_s,
            idle_timeout_s=self.idle_timeout_s,
            ice_servers=self.ice_servers,
        )
