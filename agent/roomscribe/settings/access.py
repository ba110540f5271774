"""Access control of ``roomscribe serve``: who may ask for a token or an offer, from where.

:class:`AccessOptions` is what ``server/`` takes; :class:`AccessFields` the
settings (and their checks) it is built from.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import BaseModel, field_validator
from pydantic_core import PydanticCustomError

from roomscribe.settings.fields import SHOWN, CommaList, default_of, setting

Origin = tuple[str, str, int]
"""``(scheme, host, port)``, lower case, the port made explicit."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_HOST_PATTERN = re.compile(r"^(\*\.)?[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$")
"""A name (``*.`` for its subdomains) or an IPv6 address in brackets, as ``Host`` has them."""
_NO_RATE_LIMIT = frozenset({"off", "0", "none"})


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


class AccessFields(BaseModel):
    """The access control settings: a part of :class:`~roomscribe.settings.Settings`."""

    passcode: str = setting(
        default_of(AccessOptions, "passcode"),
        group="access",
        help="required in every token and offer request; prefer the environment, "
        "a command line is visible to every user of the machine",
    )
    trust_proxy_header: str = setting(
        default_of(AccessOptions, "trust_proxy_header"),
        group="access",
        metavar="NAME",
        help="behind a sign-on proxy: the header naming the signed-in user (e.g. "
        "X-Forwarded-User) is the display name, and requests without it are refused; "
        "believed only from --trusted-proxies",
    )
    trusted_proxies: CommaList = setting(
        default_of(AccessOptions, "trusted_proxies"),
        group="access",
        help="comma-separated proxy addresses or networks whose X-Forwarded-For, "
        "X-Forwarded-Proto and --trust-proxy-header count (default: this machine)",
    )
    metrics_from: CommaList = setting(
        default_of(AccessOptions, "metrics_from"),
        group="access",
        help="comma-separated client addresses or networks that may read /metrics "
        "(default: this machine; '*': anyone)",
    )
    allow_open: bool = setting(
        default_of(AccessOptions, "allow_open"),
        group="access",
        help="serve a non-loopback address without passcode or proxy header: anyone "
        "who reaches it may join any room",
    )
    rate_limit: str = setting(
        default_of(AccessOptions, "rate_limit"),
        group="access",
        help=f"token/offer requests per client address, e.g. "
        f"{default_of(AccessOptions, 'rate_limit')} or 1000/hour; off: no limit",
    )
    failed_attempt_limit: str = setting(
        default_of(AccessOptions, "failed_attempt_limit"),
        group="access",
        help="refused passcodes per client address before it must wait, e.g. "
        f"{default_of(AccessOptions, 'failed_attempt_limit')}; off: no limit",
    )
    allowed_hosts: CommaList = setting(
        default_of(AccessOptions, "allowed_hosts"),
        group="access",
        help="comma-separated Host names served besides this machine's names and "
        "addresses, e.g. meet.example.org (the name behind a proxy too); * for any",
    )
    allowed_origins: CommaList = setting(
        default_of(AccessOptions, "allowed_origins"),
        group="access",
        help="comma-separated web origins besides the server's own that may call the "
        "API, e.g. https://meet.example.org",
    )

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
                    {"origin": repr(origin[:SHOWN])},
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
                    {"proxy": repr(proxy[:SHOWN])},
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
                    {"host": repr(host[:SHOWN])},
                )
        return value

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
