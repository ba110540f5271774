"""The web server of ``roomscribe serve`` (and ``dev``): its address and HTTPS."""

from __future__ import annotations

from pydantic import BaseModel

from roomscribe.settings.fields import CHECKOUT, Port, UserPath, setting


class WebFields(BaseModel):
    """The web server settings: a part of :class:`~roomscribe.settings.Settings`."""

    host: str = setting("127.0.0.1", group="web", help="address the web server listens on")
    port: Port = setting(8000, group="web", help="port of the web server")
    web_dir: UserPath = setting(
        CHECKOUT / "web-client" / "dist", group="web", help="the built web client"
    )
    tls_cert: UserPath | None = setting(
        None, group="https", help="PEM certificate (chain): serve HTTPS"
    )
    tls_key: UserPath | None = setting(None, group="https", help="PEM private key of --tls-cert")
