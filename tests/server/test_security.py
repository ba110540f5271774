"""Access-control settings: flags, environment, and when ``serve`` may listen where."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from roomscribe.config import Settings, SettingsError, load_settings
from roomscribe.server import command
from roomscribe.server.options import AccessOptions, exposure_refusal, is_loopback, origin_key

VARIABLES = ("PASSCODE", "TRUST_PROXY_HEADER", "ALLOW_OPEN", "RATE_LIMIT", "ALLOWED_ORIGINS")


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*VARIABLES, "TLS_CERT", "TLS_KEY"):
        monkeypatch.delenv(f"ROOMSCRIBE_{name}", raising=False)


def settings(*argv: str) -> Settings:
    """``roomscribe serve``'s settings from the environment and ``argv``, as the CLI reads them."""
    defaults = load_settings()
    parser = argparse.ArgumentParser()
    command.add_arguments(parser, defaults)
    return defaults.with_flags(vars(parser.parse_args(argv)))


def parse(*argv: str) -> AccessOptions:
    return settings(*argv).access()


def test_defaults_match_the_dataclass() -> None:
    assert parse() == AccessOptions()
    assert AccessOptions().rate_limit == "20/minute"


def test_environment_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMSCRIBE_PASSCODE", "from-env")
    monkeypatch.setenv("ROOMSCRIBE_TRUST_PROXY_HEADER", "X-Forwarded-User")
    monkeypatch.setenv("ROOMSCRIBE_ALLOW_OPEN", "yes")
    monkeypatch.setenv("ROOMSCRIBE_RATE_LIMIT", "5/second")
    monkeypatch.setenv("ROOMSCRIBE_ALLOWED_ORIGINS", "https://a.example, https://b.example:8443")
    opts = parse()
    assert opts == AccessOptions(
        passcode="from-env",
        trust_proxy_header="X-Forwarded-User",
        allow_open=True,
        rate_limit="5/second",
        allowed_origins=("https://a.example", "https://b.example:8443"),
    )
    assert parse("--passcode", "flag", "--rate-limit", "off").passcode == "flag"
    assert parse("--rate-limit", "off").rate_limit is None
    monkeypatch.setenv("ROOMSCRIBE_ALLOW_OPEN", "0")
    assert not parse().allow_open
    assert parse("--allow-open").allow_open


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--rate-limit", "lots"], {}, "--rate-limit"),
        (["--allowed-origins", "meet.example.org"], {}, "is not an origin like https://"),
        (["--allowed-origins", "https://meet.example.org/app"], {}, "is not an origin"),
        (["--trust-proxy-header", "X User"], {}, "expected an HTTP header name"),
        ([], {"ROOMSCRIBE_ALLOW_OPEN": "maybe"}, "ROOMSCRIBE_ALLOW_OPEN='maybe': expected 1 or 0"),
        ([], {"ROOMSCRIBE_RATE_LIMIT": "lots"}, "ROOMSCRIBE_RATE_LIMIT='lots': expected a rate"),
    ],
)
def test_invalid_settings_exit_with_a_message(
    argv: list[str], env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError, match=message):
        parse(*argv)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.20", False),
        ("meet.example.org", False),
        ("localhost.example.org", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    refusal = exposure_refusal(host, AccessOptions())
    assert (refusal is None) is loopback
    for way_out in (
        AccessOptions(passcode="pw"),
        AccessOptions(trust_proxy_header="X-Forwarded-User"),
        AccessOptions(allow_open=True),
    ):
        assert exposure_refusal(host, way_out) is None


def test_origin_keys() -> None:
    assert origin_key("https://Meet.Example.org") == ("https", "meet.example.org", 443)
    assert origin_key("http://localhost:8000/") == ("http", "localhost", 8000)
    assert origin_key("http://[::1]:8000") == ("http", "::1", 8000)
    for bad in (
        "null",
        "",
        "file://",
        "ftp://x",
        "https://x/path",
        "https://u@x",
        "http://x:99999",
    ):
        assert origin_key(bad) is None, bad


def test_tls_needs_both_files(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")

    def tls(*argv: str) -> tuple[str, str] | None:
        return command._tls_files(settings(*argv))

    assert tls() is None
    assert tls("--tls-cert", str(cert), "--tls-key", str(cert)) == (str(cert), str(cert))
    with pytest.raises(SystemExit, match="--tls-cert and --tls-key go together"):
        tls("--tls-cert", str(cert))
    with pytest.raises(SystemExit, match="TLS file not found"):
        tls("--tls-cert", str(cert), "--tls-key", str(tmp_path / "missing.pem"))
