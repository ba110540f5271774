"""Who may call ``POST /api/token`` and ``POST /api/offer``, from where, and how often.

The same guard keeps a room's stored transcript (``GET
/api/rooms/{room}/transcript``): whoever may join a room may read what was
said in it. That request has no body, so it carries the passcode in the
:data:`PASSCODE_HEADER` header and is screened by :meth:`AccessGuard.screen_read`.

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
them (:func:`roomscribe.server.exposure.exposure_refusal`).

The identity header counts only from ``ROOMSCRIBE_TRUSTED_PROXIES``
(:mod:`roomscribe.server.transport`); from any other address it is ignored,
so a request that carries it directly is refused like one without it.

Whatever the configuration, every request to those endpoints is screened by
:meth:`AccessGuard.screen` before its body is read: the per-client limits
(429 with ``Retry-After``: a generous one on all requests, a tight one on
refused passcodes, against guessing), the transport (a passcode only over
HTTPS, or from this machine: 403), then the ``Origin`` (another web page must
not use a visitor's browser against the API: browsers send ``Origin`` with
every cross-origin ``fetch``), then the content type (only
``application/json``: a cross-site HTML form can only send the "simple"
types, and a JSON body is what makes a cross-origin ``fetch`` preflighted).
The client address is the TCP peer's, or the one a trusted proxy names.
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

from roomscribe.server.exposure import is_loopback
from roomscribe.server.names import InvalidNameError, validate_display_name
from roomscribe.server.transport import via_trusted_proxy
from roomscribe.settings.access import AccessOptions, Origin, origin_key

PASSCODE_HEADER = "X-Roomscribe-Passcode"
"""Where a ``GET`` request carries the passcode (never in the URL: URLs end up in logs)."""

_REQUESTS = "roomscribe-api"
_FAILURES = "roomscribe-failed"


class AccessGuard:
    """Enforces :class:`AccessOptions` on requests; one per app, shared by both endpoints."""

    def __init__(self, options: AccessOptions) -> None:
        self.options = options
        self._limit = limits.parse(options.rate_limit) if options.rate_limit else None
        self._failed_limit = (
            limits.parse(options.failed_attempt_limit) if options.failed_attempt_limit else None
        )
        # Memory storage: the limit is per process, which is what one web server needs.
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._allowed = frozenset(filter(None, map(origin_key, options.allowed_origins)))
        self._passcode_digest = _digest(options.passcode) if options.passcode else None

    # -- before the body is read ------------------------------------------------------

    async def screen(self, request: Request) -> None:
        """FastAPI dependency: limits (429), transport and ``Origin`` (403), type (415)."""
        await self.screen_read(request)
        self._check_content_type(request)

    async def screen_read(self, request: Request) -> None:
        """FastAPI dependency of ``GET`` endpoints: limits (429), transport and ``Origin`` (403)."""
        key = self.client_address(request)
        self._check_failures(key)
        self._check_rate(key)
        self._check_transport(request, key)
        self._check_origin(request)

    @staticmethod
    def client_address(request: Request) -> str:
        """The address a request is counted against: the TCP peer, or the client
        a trusted proxy names (:class:`~roomscribe.server.transport.TrustedProxies`)."""
        return request.client.host if request.client else "unknown"

    def _check_rate(self, key: str) -> None:
        if self._limit is not None and not self._limiter.hit(self._limit, _REQUESTS, key):
            self._too_many(
                self._limit, _REQUESTS, key, f"requests (the limit is {self.options.rate_limit})"
            )

    def _check_failures(self, key: str) -> None:
        """429 while ``key`` has used up its refused attempts; records nothing."""
        limit = self._failed_limit
        if limit is not None and not self._limiter.test(limit, _FAILURES, key):
            self._too_many(
                limit,
                _FAILURES,
                key,
                f"refused passcodes (the limit is {self.options.failed_attempt_limit})",
            )

    def _refuse(self, key: str, status: int, message: str) -> HTTPException:
        """A refused attempt: counted against ``key``'s failure budget."""
        if self._failed_limit is not None:
            self._limiter.hit(self._failed_limit, _FAILURES, key)
        return HTTPException(status, message)

    def _too_many(self, limit: limits.RateLimitItem, name: str, key: str, what: str) -> None:
        stats = self._limiter.get_window_stats(limit, name, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise HTTPException(
            429,
            f"too many {what} from {key}; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )

    def _check_transport(self, request: Request, key: str) -> None:
        """A passcode (and the token it buys) travels only over HTTPS or within this machine."""
        if not self.options.passcode_required or request.url.scheme == "https":
            return
        if is_loopback(key):
            return
        raise HTTPException(
            403,
            "this server takes its passcode only over HTTPS: open it with https:// "
            "(--tls-cert/--tls-key, or a TLS proxy in ROOMSCRIBE_TRUSTED_PROXIES that "
            "sends X-Forwarded-Proto: https)",
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

    @staticmethod
    def _own_origin(request: Request) -> Origin | None:
        """Scheme and ``Host`` of the request, as the browser addressed this server.

        Behind a trusted TLS proxy the scheme is the one it names (``X-Forwarded-Proto``).
        """
        host = request.headers.get("host")
        if not host:
            return None
        return origin_key(f"{request.url.scheme}://{host}")

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

        ``passcode`` is the request's ``passcode`` field, whatever its type. A
        refusal counts against the client's failed-attempt limit; the check
        and the count happen without a pause, so parallel guesses cannot
        overtake the limit.
        """
        key = self.client_address(request)
        self._check_failures(key)
        if self._passcode_digest is not None:
            if not isinstance(passcode, str) or not passcode:
                raise self._refuse(
                    key, 401, "this server requires a passcode: send it in the field 'passcode'"
                )
            # Digests of equal length: the comparison time says nothing about the passcode.
            if not hmac.compare_digest(_digest(passcode), self._passcode_digest):
                raise self._refuse(key, 401, "wrong passcode")
        header = self.options.trust_proxy_header
        if not header:
            return None
        # From anyone but a trusted proxy the header is the client's own claim: ignored.
        raw = request.headers.get(header, "").strip() if via_trusted_proxy(request) else ""
        if not raw:
            if self._passcode_digest is not None:
                return None  # the passcode admitted it; the body names the person
            raise self._refuse(
                key, 401, f"not signed in: requests must come through the sign-on proxy ({header})"
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
