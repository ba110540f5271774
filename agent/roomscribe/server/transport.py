"""What the web server believes about a request's transport: proxy, ``Host`` and body size.

* **Proxies.** ``X-Forwarded-For`` and ``X-Forwarded-Proto`` (uvicorn's
  :class:`~uvicorn.middleware.proxy_headers.ProxyHeadersMiddleware`) and the
  sign-on proxy's identity header count only when the TCP peer is one of
  ``ROOMSCRIBE_TRUSTED_PROXIES`` (default: this machine). From anyone else
  they are the client's own claims: the request is counted against, and
  judged by, the address that connected. :func:`via_trusted_proxy` tells
  :class:`~roomscribe.server.security.AccessGuard` which case it is.
* **Host.** A browser lured to a page whose name resolves to this machine
  (DNS rebinding) sends that name as ``Host``; only this machine's names and
  addresses and ``ROOMSCRIBE_ALLOWED_HOSTS`` are served (Starlette's
  :class:`~starlette.middleware.trustedhost.TrustedHostMiddleware`, 400).
  An IP address as ``Host`` cannot be rebound, a name can.
* **Bodies.** :func:`read_body` streams at most a limit (413), so a large
  upload costs neither memory nor parsing; every ``POST`` reads through it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence
from typing import Any, TypeVar

import psutil
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, ValidationError
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from roomscribe.settings.access import AccessOptions

MAX_JSON_BYTES = 16 * 1024
"""Largest ``/api/token`` or ``/api/vocabulary`` body; real ones are under 2 KiB."""
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
"""As ``Host`` spells them: IPv6 addresses in brackets."""

_VIA_PROXY = "roomscribe.via_trusted_proxy"
"""Scope key: the TCP peer was a trusted proxy (set before uvicorn's rewrites it)."""

M = TypeVar("M", bound=BaseModel)


class TrustedProxies:
    """ASGI middleware: proxy headers from ``proxies`` (IPs or CIDRs, ``*``: anyone) only.

    Replaces uvicorn's own proxy handling (``uvicorn.run(proxy_headers=False)``):
    uvicorn would rewrite the client address before the app could see who
    connected, which the identity header's trust depends on.
    """

    def __init__(self, app: ASGIApp, proxies: Sequence[str]) -> None:
        # uvicorn trusts everyone only for a lone "*"; elsewhere in a list it would be a name.
        trusted = "*" if "*" in proxies else list(proxies)
        self._inner = ProxyHeadersMiddleware(app, trusted_hosts=trusted)  # type: ignore[arg-type]
        self._trusted = self._inner.trusted_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            scope[_VIA_PROXY] = peer is not None and peer[0] in self._trusted
        await self._inner(scope, receive, send)  # type: ignore[arg-type]


def via_trusted_proxy(request: Request) -> bool:
    """Whether the request's TCP peer is a trusted proxy (see :class:`TrustedProxies`)."""
    return bool(request.scope.get(_VIA_PROXY, False))


def served_hosts(extra: Sequence[str]) -> list[str]:
    """The ``Host`` names served: loopback, this machine's name and addresses, and ``extra``."""
    hosts = [*LOCAL_HOSTS, socket.gethostname()]
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET:
                hosts.append(address.address)
            elif address.family == socket.AF_INET6:
                hosts.append(f"[{address.address.split('%', 1)[0]}]")  # fe80::1%eth0
    return list(dict.fromkeys([*hosts, *extra]))


def secure_transport(app: FastAPI, access: AccessOptions) -> None:
    """Add the ``Host`` check and the proxy handling to ``app`` (outermost: the proxy)."""
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=served_hosts(access.allowed_hosts))
    app.add_middleware(TrustedProxies, proxies=access.trusted_proxies)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"request body is over the limit of {limit} bytes")
    return bytes(body)


async def read_json(request: Request, model: type[M], limit: int = MAX_JSON_BYTES) -> M:
    """The body as ``model``: 413 over ``limit``, 400 if not JSON, 422 if it does not fit."""
    body = await read_body(request, limit)
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(400, f"the body is not JSON: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(422, _validation_detail(exc)) from exc


def _validation_detail(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5]
    )
