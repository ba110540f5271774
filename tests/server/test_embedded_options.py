"""Flags and environment defaults of embedded mode."""

from __future__ import annotations

import argparse

import pytest

from roomscribe.server.embedded import (
    EmbeddedOptions,
    add_embedded_arguments,
    embedded_options_from_args,
)


def parse(*argv: str) -> EmbeddedOptions:
    parser = argparse.ArgumentParser()
    add_embedded_arguments(parser)
    return embedded_options_from_args(parser.parse_args(argv))


def test_defaults_match_the_dataclass(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAX_SESSIONS", "IDLE_TIMEOUT", "CONNECT_TIMEOUT", "MAX_SDP_BYTES", "ICE_SERVERS"):
        monkeypatch.delenv(f"ROOMSCRIBE_{name}", raising=False)
    assert parse() == EmbeddedOptions()


def test_environment_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMSCRIBE_MAX_SESSIONS", "2")
    monkeypatch.setenv("ROOMSCRIBE_IDLE_TIMEOUT", "7.5")
    monkeypatch.setenv("ROOMSCRIBE_ICE_SERVERS", "stun:a.example:3478, stun:b.example")
    opts = parse("--connect-timeout", "3")
    assert opts.max_sessions == 2
    assert opts.idle_timeout_s == 7.5
    assert opts.connect_timeout_s == 3.0
    assert opts.ice_servers == ("stun:a.example:3478", "stun:b.example")
    assert parse("--ice-server", "stun:c.example").ice_servers == ("stun:c.example",)
    limits = opts.session_limits()
    assert (limits.idle_timeout_s, limits.connect_timeout_s) == (7.5, 3.0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-sessions", "0"], "--max-sessions must be at least 1"),
        (["--idle-timeout", "0"], "must be positive"),
        (["--max-sdp-bytes", "100"], "at least 1024"),
    ],
)
def test_invalid_values_exit_with_a_message(argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        parse(*argv)
