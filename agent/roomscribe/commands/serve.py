"""``roomscribe serve``: the web client and its API (LiveKit or embedded mode).

On a loopback address it needs no set-up. On any other address it starts only
with access control (a passcode or a trusted sign-on proxy header) or an
explicit ``--allow-open``, and exits 2 otherwise. ``--tls-cert``/``--tls-key``
serve HTTPS, which browsers require for the microphone anywhere but localhost.
"""

from __future__ import annotations

import argparse
import logging

from roomscribe.config import (
    Settings,
    add_asr_arguments,
    add_livekit_arguments,
    add_setting,
    add_store_arguments,
)
from roomscribe.server.options import (
    DEFAULT_FAILED_ATTEMPT_LIMIT,
    DEFAULT_RATE_LIMIT,
    exposure_refusal,
    is_loopback,
)

HELP = "serve the web client and its token API (embedded mode when no LiveKit is configured)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    add_setting(parser, defaults, "host", help="")
    add_setting(parser, defaults, "port", help="")
    add_setting(parser, defaults, "web_dir", help="the built web client")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="caption over direct WebRTC in this process, without LiveKit "
        "(also the mode when LIVEKIT_URL is not set)",
    )
    g = parser.add_argument_group("HTTPS")
    add_setting(g, defaults, "tls_cert", help="PEM certificate (chain): serve HTTPS")
    add_setting(g, defaults, "tls_key", help="PEM private key of --tls-cert")
    _add_access_arguments(parser, defaults)
    add_livekit_arguments(parser, defaults)
    add_store_arguments(parser, defaults)
    add_asr_arguments(parser, defaults)
    _add_embedded_arguments(parser, defaults)


def _add_access_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    g = parser.add_argument_group("access control (POST /api/token and /api/offer)")
    add_setting(
        g,
        defaults,
        "passcode",
        help="required in every token and offer request; prefer the environment, "
        "a command line is visible to every user of the machine",
    )
    add_setting(
        g,
        defaults,
        "trust_proxy_header",
        metavar="NAME",
        help="behind a sign-on proxy: the header naming the signed-in user (e.g. "
        "X-Forwarded-User) is the display name, and requests without it are refused; "
        "believed only from --trusted-proxies",
    )
    add_setting(
        g,
        defaults,
        "trusted_proxies",
        help="comma-separated proxy addresses or networks whose X-Forwarded-For, "
        "X-Forwarded-Proto and --trust-proxy-header count (default: this machine)",
    )
    add_setting(
        g,
        defaults,
        "allow_open",
        action="store_true",
        help="serve a non-loopback address without passcode or proxy header: anyone "
        "who reaches it may join any room",
    )
    add_setting(
        g,
        defaults,
        "rate_limit",
        help=f"token/offer requests per client address, e.g. {DEFAULT_RATE_LIMIT} or "
        "1000/hour; off: no limit",
    )
    add_setting(
        g,
        defaults,
        "failed_attempt_limit",
        help="refused passcodes per client address before it must wait, e.g. "
        f"{DEFAULT_FAILED_ATTEMPT_LIMIT}; off: no limit",
    )
    add_setting(
        g,
        defaults,
        "allowed_hosts",
        help="comma-separated Host names served besides this machine's names and "
        "addresses, e.g. meet.example.org (the name behind a proxy too); * for any",
    )
    add_setting(
        g,
        defaults,
        "allowed_origins",
        help="comma-separated web origins besides the server's own that may call the "
        "API, e.g. https://meet.example.org",
    )


def _add_embedded_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    g = parser.add_argument_group("embedded mode (direct WebRTC, no LiveKit)")
    add_setting(g, defaults, "max_sessions", help="concurrent browser tabs")
    add_setting(
        g, defaults, "idle_timeout", help="close a session after this many seconds without audio"
    )
    add_setting(g, defaults, "connect_timeout", help="seconds a new peer has to connect")
    add_setting(g, defaults, "max_sdp_bytes", help="largest accepted SDP offer")
    add_setting(
        g,
        defaults,
        "ice_servers",
        action="append",
        help="STUN/TURN URL, repeatable; default none (the variable: comma-separated)",
    )


def _tls_files(settings: Settings) -> tuple[str, str] | None:
    cert, key = settings.tls_cert, settings.tls_key
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise SystemExit("--tls-cert and --tls-key go together (ROOMSCRIBE_TLS_CERT/_KEY)")
    for path in (cert, key):
        if not path.is_file():
            raise SystemExit(f"TLS file not found: {path}")
    return str(cert), str(key)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from roomscribe.server.app import AppOptions, create_app

    access = settings.access()
    refusal = exposure_refusal(settings.host, access)
    if refusal is not None:
        log.error("%s", refusal)
        return 2
    tls = _tls_files(settings)
    if tls is None and not is_loopback(settings.host):
        log.warning(
            "serving plain HTTP on %s: browsers allow the microphone only on localhost or "
            "HTTPS%s; use --tls-cert/--tls-key or a TLS proxy (docker/Caddyfile)",
            settings.host,
            ", and the passcode is accepted from other machines only over HTTPS"
            if access.passcode_required
            else "",
        )
    livekit = None if args.embedded else settings.livekit()
    if livekit is None:
        options = AppOptions(
            asr=settings.asr(),
            embedded=settings.embedded(),
            web_dir=settings.web_dir,
            access=access,
        )
        log.info("embedded mode: captions over direct WebRTC, no LiveKit server")
    else:
        options = AppOptions(
            livekit=livekit, web_dir=settings.web_dir, access=access, record=settings.record()
        )
        log.info("LiveKit mode: %s", livekit.url)
    app = create_app(options)
    if access.passcode_required:
        log.info("a passcode is required to join")
    if access.trust_proxy_header:
        log.info("trusting the %s header of the sign-on proxy", access.trust_proxy_header)
    host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host
    log.info("open %s://%s:%d", "https" if tls else "http", host, settings.port)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
        # The app handles X-Forwarded-* itself, from ROOMSCRIBE_TRUSTED_PROXIES only.
        proxy_headers=False,
    )
    return 0
