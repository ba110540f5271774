"""Whether ``serve`` may listen where it is told, with the access control it has.

Free of the web stack, so ``serve`` refuses an exposed address before it imports
FastAPI; :mod:`roomscribe.server.security` enforces the same
:class:`~roomscribe.settings.access.AccessOptions` on each request.
"""

from __future__ import annotations

import ipaddress

from roomscribe.settings.access import AccessOptions


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` or ``::1``: only this machine can connect."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def in_networks(host: str, networks: tuple[str, ...]) -> bool:
    """Whether the address ``host`` is in one of ``networks`` (IPs or CIDRs; ``*``: any)."""
    if "*" in networks:
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    for network in networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
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
