"""Access-control settings: flags, environment, and when ``serve`` may listen where."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from roomscribe.commands import serve as command
from roomscribe.server.exposure import exposure_refusal, is_loopback
from roomscribe.settings import Settings, SettingsError, load_settings
from roomscribe.settings.access import AccessOptions, origin_key

VARIABLES = (
    "PASSCODE",
    "TRUST_PROXY_HEADER",
    "ALLOW_OPEN",
    "RATE_LIMIT",
    "FAILED_ATTEMPT_LIMIT",
    "ALLOWED_ORIGINS",
    "TRUSTED_PROXIES",
    "ALLOWED_HOSTS",
)


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
    assert AccessOptions().rate_limit == "600/minute"
    assert AccessOptions().failed_attempt_limit == "10/minute"
    assert AccessOptions().trusted_proxies == ("127.0.0.0/8", "::1")


def test_environment_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMSCRIBE_PASSCODE", "from-env")
    monkeypatch.setenv("ROOMSCRIBE_TRUST_PROXY_HEADER", "X-Forwarded-User")
    monkeypatch.setenv("ROOMSCRIBE_ALLOW_OPEN", "yes")
    monkeypatch.setenv("ROOMSCRIBE_RATE_LIMIT", "5/second")
    monkeypatch.setenv("ROOMSCRIBE_FAILED_ATTEMPT_LIMIT", "3/minute")
    monkeypatch.setenv("ROOMSCRIBE_ALLOWED_ORIGINS", "https://a.example, https://b.example:8443")
    monkeypatch.setenv("ROOMSCRIBE_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16, fd00::/8")
    monkeypatch.setenv("ROOMSCRIBE_ALLOWED_HOSTS", "meet.example.org,*.example.net")
    opts = parse()
    assert opts == AccessOptions(
        passcode="from-env",
        trust_proxy_header="X-Forwarded-User",
        allow_open=True,
        rate_limit="5/second",
        failed_attempt_limit="3/minute",
        allowed_origins=("https://a.example", "https://b.example:8443"),
        trusted_proxies=("10.0.0.5", "10.1.0.0/16", "fd00::/8"),
        allowed_hosts=("meet.example.org", "*.example.net"),
    )
    assert parse("--passcode", "flag", "--rate-limit", "off").passcode == "flag"
    assert parse("--rate-limit", "off").rate_limit is None
    assert parse("--failed-attempt-limit", "off").failed_attempt_limit is None
    assert parse("--trusted-proxies", "192.0.2.9").trusted_proxies == ("192.0.2.9",)
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
        (["--trusted-proxies", "proxy.example"], {}, "is not an IP address or network"),
        (["--trusted-proxies", "10.0.0.0/33"], {}, "is not an IP address or network"),
        (["--allowed-hosts", "https://meet.example.org"], {}, "is not a host name"),
        (["--allowed-hosts", "meet.*.org"], {}, "is not a host name"),
        (["--failed-attempt-limit", "many"], {}, "--failed-attempt-limit"),
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


@pytest.mark.parametrize("everyone", ["*", "0.0.0.0/0", "::/0", "10.0.0.5, 0.0.0.0/0"])
def test_refuses_a_network_address_trusting_the_header_from_everyone(everyone: str) -> None:
    header = ("--trust-proxy-header", "X-Forwarded-User", "--trusted-proxies", everyone)
    refusal = exposure_refusal("0.0.0.0", parse(*header))
    assert refusal is not None
    assert "trusting the X-Forwarded-User header from every address" in refusal
    assert "ROOMSCRIBE_TRUSTED_PROXIES" in refusal
    assert exposure_refusal("127.0.0.1", parse(*header)) is None  # only this machine connects
    # With a passcode too it is still refused: the header would name anyone.
    assert exposure_refusal("0.0.0.0", parse(*header, "--passcode", "pw")) is not None
    assert exposure_refusal("0.0.0.0", parse(*header[:2], "--trusted-proxies", "10.0.0.5")) is None
    # Without the header, X-Forwarded-For/-Proto from anyone would dodge the limits and HTTPS.
    refusal = exposure_refusal("0.0.0.0", parse("--passcode", "pw", *header[2:]))
    assert refusal is not None
    assert "trusting the X-Forwarded-For header from every address" in refusal


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
