"""``roomscribe serve`` as a real process, asked over real HTTP from another address.

The "other machine" is this machine's own non-loopback address (``hostname -I``):
the server sees a peer that is not loopback, as it would a browser on the LAN.
Settings come from the environment where they can, so the same test against
an older roomscribe (which ignores unknown variables) fails on the behaviour.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from roomscribe.bench.large_body import upload
from tests.fixtures.livekit import free_port, lan_address
from tests.server.test_serve_command import (
    LIVEKIT,
    clean_env,
    running,
    self_signed,
    wait_healthy,
)

JOIN = {"room": "standup", "name": "Ada"}


@pytest.fixture(scope="module")
def lan() -> str:
    return lan_address()


def client(source: str, **kw: object) -> httpx.Client:
    """An HTTP client whose connections come from ``source``."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source, **kw), timeout=30)  # type: ignore[arg-type]


@contextmanager
def serving(tmp_path: Path, *args: str, **env: str) -> Iterator[tuple[int, psutil.Process]]:
    port = free_port()
    argv = ["--host", "0.0.0.0", "--port", str(port), *LIVEKIT, *args]
    with running(argv, tmp_path, clean_env(**env)) as proc:
        wait_healthy(f"http://127.0.0.1:{port}", proc, tmp_path / "serve.log")
        yield port, psutil.Process(proc.pid)


# -- item: the sign-on header only from the proxy -----------------------------------------


def test_the_identity_header_counts_only_from_a_trusted_proxy(tmp_path: Path, lan: str) -> None:
    header = "X-Forwarded-User"
    with serving(tmp_path, "--trust-proxy-header", header) as (port, _):
        # Straight to roomscribe from the LAN, naming itself and claiming other addresses.
        with client(lan) as direct:
            codes = [
                direct.post(
                    f"http://{lan}:{port}/api/token",
                    json=JOIN,
                    headers={header: "Grace", "X-Forwarded-For": f"203.0.113.{i}"},
                )
                for i in range(12)
            ]
        assert [r.status_code for r in codes] == [401] * 10 + [429] * 2, codes[0].text
        assert "sign-on proxy" in codes[0].json()["detail"]
        assert (
            f"too many refused passcodes (the limit is 10/minute) from {lan}"
            in codes[-1].json()["detail"]
        )
        # The proxy on this machine is believed, and its client has a budget of its own.
        with client("127.0.0.1") as proxy:
            r = proxy.post(
                f"http://127.0.0.1:{port}/api/token",
                json=JOIN,
                headers={header: "Grace", "X-Forwarded-For": "203.0.113.50"},
            )
        assert r.status_code == 503, r.text  # past access control: the (absent) LiveKit


def test_refuses_to_trust_the_header_from_everyone_on_a_network_address(tmp_path: Path) -> None:
    env = clean_env(ROOMSCRIBE_TRUSTED_PROXIES="0.0.0.0/0")
    argv = ["--host", "0.0.0.0", "--port", str(free_port()), *LIVEKIT]
    with running([*argv, "--trust-proxy-header", "X-Forwarded-User"], tmp_path, env) as proc:
        try:
            proc.wait(30)  # it exits at once; an old one serves
        except subprocess.TimeoutExpired:
            pytest.fail("serve started, trusting the header from every address")
    assert proc.returncode == 2
    log = (tmp_path / "serve.log").read_text()
    assert "trusting the X-Forwarded-User header from every address" in log


# -- item: bounded requests before any work -----------------------------------------------


@pytest.mark.parametrize(
    ("path", "chunked"),
    [
        ("/api/token", False),
        ("/api/token", True),
        ("/api/vocabulary", False),
        ("/api/language", False),
        ("/api/translation", False),
    ],
)
def test_a_huge_body_is_refused_before_it_is_read(tmp_path: Path, path: str, chunked: bool) -> None:
    with serving(tmp_path, "--allow-open") as (port, server):
        before = server.memory_info().rss
        status, seconds = upload(port, path, 100 << 20, chunked=chunked)
        grown = (server.memory_info().rss - before) / 2**20
        print(f"{path} chunked={chunked}: {status!r} after {seconds:.3f} s, RSS +{grown:.1f} MiB")
        assert status == "HTTP/1.1 413 Request Entity Too Large"
        assert seconds < 5  # generous: measured well under 1 s
        assert grown < 10
        # and the server still serves
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200


# -- item: host and transport -------------------------------------------------------------


def test_unknown_host_names_are_refused(tmp_path: Path, lan: str) -> None:
    """A page on a name rebound to this machine sends that name as Host."""
    with serving(tmp_path, "--allow-open", ROOMSCRIBE_ALLOWED_HOSTS="meet.example.org") as (
        port,
        _,
    ):
        url = f"http://127.0.0.1:{port}/api/config"
        for host, status in [
            ("rebind.attacker.example", 400),
            (f"rebind.attacker.example:{port}", 400),
            ("localhost.attacker.example", 400),
            (f"localhost:{port}", 200),
            (f"127.0.0.1:{port}", 200),
            (f"[::1]:{port}", 200),
            (f"{lan}:{port}", 200),  # an address cannot be rebound
            (socket.gethostname(), 200),
            ("meet.example.org", 200),  # ROOMSCRIBE_ALLOWED_HOSTS
        ]:
            r = httpx.get(url, headers={"Host": host})
            assert r.status_code == status, host
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/token", json=JOIN, headers={"Host": "evil.example"}
        )
        assert r.status_code == 400


def test_a_passcode_travels_only_over_https(tmp_path: Path, lan: str) -> None:
    right = JOIN | {"passcode": "pw"}
    with serving(tmp_path, ROOMSCRIBE_PASSCODE="pw") as (port, _):
        with client(lan) as remote:
            r = remote.post(f"http://{lan}:{port}/api/token", json=right)
        assert r.status_code == 403, r.text
        assert "passcode only over HTTPS" in r.json()["detail"]
        with client("127.0.0.1") as local:  # this machine: nothing crosses a network
            url = f"http://127.0.0.1:{port}/api/token"
            assert local.post(url, json=right).status_code == 503
            # a TLS proxy on this machine saying the browser used HTTPS
            https = {"X-Forwarded-For": lan, "X-Forwarded-Proto": "https"}
            assert local.post(url, json=right, headers=https).status_code == 503
            http = {"X-Forwarded-For": lan, "X-Forwarded-Proto": "http"}
            assert local.post(url, json=right, headers=http).status_code == 403
    cert, key = self_signed(tmp_path, lan)
    tls = {"ROOMSCRIBE_TLS_CERT": str(cert), "ROOMSCRIBE_TLS_KEY": str(key)}
    port = free_port()
    argv = ["--host", "0.0.0.0", "--port", str(port), *LIVEKIT]
    trust = ssl.create_default_context(cafile=str(cert))
    with running(argv, tmp_path, clean_env(ROOMSCRIBE_PASSCODE="pw", **tls)) as proc:
        wait_healthy(f"https://127.0.0.1:{port}", proc, tmp_path / "serve.log", verify=trust)
        with client(lan, verify=trust) as remote:
            r = remote.post(f"https://{lan}:{port}/api/token", json=right)
        assert r.status_code == 503, r.text  # past the passcode: LiveKit is down here


# -- item: how busy the service is, for the operator's Prometheus only --------------------


def test_metrics_answer_this_machine_and_the_networks_allowed_only(
    tmp_path: Path, lan: str
) -> None:
    with serving(tmp_path, "--allow-open") as (port, _):
        with client("127.0.0.1") as local:
            assert local.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
            # a proxy on this machine passing on a request from outside
            forwarded = {"X-Forwarded-For": "203.0.113.7"}
            r = local.get(f"http://127.0.0.1:{port}/metrics", headers=forwarded)
            assert r.status_code == 404
        with client(lan) as other:
            assert other.get(f"http://{lan}:{port}/metrics").status_code == 404
    allowed = f"{lan}/32"
    with (
        serving(tmp_path, "--allow-open", ROOMSCRIBE_METRICS_FROM=allowed) as (port, _),
        client(lan) as prometheus,
    ):
        r = prometheus.get(f"http://{lan}:{port}/metrics")
        assert r.status_code == 200
        assert "roomscribe_" in r.text
