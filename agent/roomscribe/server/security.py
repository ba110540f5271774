"""Who may call ``POST /api/token`` and ``POST /api/offer``, from where, and how often.

Both endpoints hand out something valuable (a LiveKit join token, an embedded
caption session), so on a network one of these must be configured:

* **a passcode** (``ROOMSCRIBE_PASSCODE``): every request carries it in the
  JSON field ``passcode``; it is compared in constant time;
* **a trusted proxy header** (``--trust-proxy-header X-Forwarded-User``): the
  organisation's single sign-on proxy in front of roomscribe authenticates
  people and names them in that header. Without a passcode, a request that
  lacks the header is refused; the header's value is the display name;
* or ``--allow-open``: anyone who reaches the port, on purpose.

``roomscribe serve`` refuses to listen on a non-loopback address with none of
them (:func:`roomscribe.server.options.exposure_refusal`).

Whatever the configuration, every request to those endpoints is screened by
:meth:`AccessGuard.screen` first: a per-client rate limit (429 with
``Retry-After``), then the ``Origin`` (another web page must not use a
visitor's browser against the API: browsers send ``Origin`` with every
cross-origin ``fetch``), then the content type (only ``application/json``:
a cross-site HTML form can only send the "simple" types, and a JSON body is
what makes a cross-origin ``fetch`` preflighted).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

import limits
from fastapi import HTTPException, Request
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from roomscribe.server.names import InvalidNameError, validate_display_name
from roomscribe.server.options import AccessOptions, Origin, origin_key


class AccessGuard:
    """Enforces :class:`AccessOptions` on requests; one per app, shared by both endpoints."""

    def __init__(self, options: AccessOptions) -> None:
        self.options = options
        self._limit = limits.parse(options.rate_limit) if options.rate_limit else None
        # Memory storage: the limit is per process, which is what one web server needs.
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._allowed = frozenset(filter(None, map(origin_key, options.allowed_origins)))
        self._passcode_digest = _digest(options.passcode) if options.passcode else None

    # -- before the body is read ------------------------------------------------------

    async def screen(self, request: Request) -> None:
        """FastAPI dependency: rate limit (429), then ``Origin`` (403), then content type (415)."""
        self._check_rate(request)
        self._check_origin(request)
        self._check_content_type(request)

    def client_address(self, request: Request) -> str:
        """The address a request is counted against.

        ``X-Forwarded-For`` counts only with a trusted proxy header configured:
        then every request comes through that proxy, and its own entry (the
        last one) is the address it saw. (uvicorn itself applies the header
        when the proxy connects from 127.0.0.1, its ``forwarded_allow_ips``.)
        """
        if self.options.trust_proxy_header:
            forwarded = request.headers.get("x-forwarded-for", "").rsplit(",", 1)[-1].strip()
            if forwarded:
                return forwarded
        return request.client.host if request.client else "unknown"

    def _check_rate(self, request: Request) -> None:
        if self._limit is None:
            return
        key = self.client_address(request)
        if self._limiter.hit(self._limit, "roomscribe-api", key):
            return
        stats = self._limiter.get_window_stats(self._limit, "roomscribe-api", key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise HTTPException(
            429,
            f"too many requests from {key}: the limit is {self.options.rate_limit}; "
            f"try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )

    def _check_origin(self, request: Request) -> None:
        origin = request.headers.get("origin")
        if origin is None:
            return  # not a browser's cross-origin request (curl, the server's own page on GET)
        key = origin_key(origin)
        own = self._own_origin(request)
        if key is not None and (key == own or key in self._allowed):
            return
        shown = f"{own[0]}://{own[1]}:{own[2]}" if own else "unknown"
        raise HTTPException(
            403,
            f"requests from the web origin {origin[:100]!r} are not allowed (this server "
            f"is {shown}); list trusted origins in ROOMSCRIBE_ALLOWED_ORIGINS",
        )

    def _own_origin(self, request: Request) -> Origin | None:
        """Scheme and ``Host`` of the request, as the browser addressed this server."""
        host = request.headers.get("host")
        if not host:
            return None
        scheme = request.url.scheme
        if self.options.trust_proxy_header:
            # A TLS-terminating proxy connects over plain HTTP and says so.
            scheme = request.headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
        return origin_key(f"{scheme}://{host}")

    @staticmethod
    def _check_content_type(request: Request) -> None:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            raise HTTPException(
                415,
                "the request body must be JSON sent with Content-Type: application/json "
                f"(got {content_type[:60]!r})",
            )

    # -- with the body ------------------------------------------------------------------

    def authorize(self, request: Request, passcode: object) -> str | None:
        """Check the passcode and the proxy header (401); returns the proxy's display name.

        ``passcode`` is the request's ``passcode`` field, whatever its type.
        """
        if self._passcode_digest is not None:
            if not isinstance(passcode, str) or not passcode:
                raise HTTPException(
                    401, "this server requires a passcode: send it in the field 'passcode'"
                )
            # Digests of equal length: the comparison time says nothing about the passcode.
            if not hmac.compare_digest(_digest(passcode), self._passcode_digest):
                raise HTTPException(401, "wrong passcode")
        header = self.options.trust_proxy_header
        if not header:
            return None
        raw = request.headers.get(header, "").strip()
        if not raw:
            if self._passcode_digest is not None:
                return None  # the passcode admitted it; the body names the person
            raise HTTPException(
                401, f"not signed in: requests must come through the sign-on proxy ({header})"
            )
        try:
            return validate_display_name(_header_text(raw))
        except InvalidNameError as exc:
            raise HTTPException(400, f"the {header} header is not a usable name: {exc}") from exc


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _header_text(raw: str) -> str:
    """Starlette decodes headers as Latin-1; proxies send UTF-8 names as raw bytes."""
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw
